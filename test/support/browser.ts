/** Debian's Chromium under playwright-core, headless, with the flags this machine's closed network needs. */
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export function launchChromium(options: Omit<LaunchOptions, 'executablePath' | 'args'> = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    ...options,
  });
}
