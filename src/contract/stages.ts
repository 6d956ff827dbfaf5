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
] as const;

export type Stage = (typeof STAGES)[number];

export const FINAL_STAGES: readonly Stage[] = ['completed', 'failed', 'cancelled', 'expired'];

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}
