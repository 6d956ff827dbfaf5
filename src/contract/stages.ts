export const STAGES = [
  'resolving-connector',
  'ensuring-account',
  'installing',
  'awaiting-consent',
  'verifying',
  'completed',
  'failed',
  'cancelled',
  'expired',
  // Offboarding: the account connector was uninstalled at Cyclr (after any of the final stages above).
  'removed',
] as const;

export type Stage = (typeof STAGES)[number];

export const FINAL_STAGES: readonly Stage[] = ['completed', 'failed', 'cancelled', 'expired', 'removed'];

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}
