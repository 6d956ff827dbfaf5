import { ApplicationFailure, TemporalFailure } from '@temporalio/common';

/** The innermost cause's type and message: an activity's ApplicationFailure, not the ActivityFailure around it. */
export function failureOf(err: unknown): { type: string; message: string } {
  let current: unknown = err;
  while (current instanceof TemporalFailure && !(current instanceof ApplicationFailure) && current.cause) {
    current = current.cause;
  }
  if (current instanceof ApplicationFailure) return { type: current.type ?? 'Error', message: current.message };
  if (current instanceof TemporalFailure) return { type: current.name, message: current.message };
  return { type: 'Error', message: current instanceof Error ? current.message : String(current) };
}
