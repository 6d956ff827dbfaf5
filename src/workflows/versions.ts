/**
 * The versions of each workflow type (docs/workflow-versions.md). A release that changes a workflow's commands adds
 * ONE patch for that type here; a run reads its version once, at its start, keeps it in its state, and the code
 * consults that value where the paths part. Version 1 is whatever ran before the first patch (src/workflows/legacy/).
 */
import { patched } from '@temporalio/workflow';

/** A workflow type's versions after v1, oldest first: a run enters version `version` through `patch`. */
export type VersionPatches = readonly { readonly version: number; readonly patch: string }[];

export type VersionOf<V extends VersionPatches> = V[number]['version'] | 1;

export const PROVISIONING_VERSIONS = [
  // Cyclr calls on the way to the first wait run as local activities; search attributes upserted only before waits.
  { version: 2, patch: 'local-activities-2026-12' },
  // Idle consent checks back off from timeouts.checkEvery to timeouts.checkEveryMax; status echoes the schedule.
  // Reconnect and remove: a run after the first, under the same id (options.lifecycle).
  // timeouts.consent is capped (MAX_CONSENT) for runs begun at this version; older runs keep what they began with.
  { version: 3, patch: 'provision-v3-2026-12' },
] as const satisfies VersionPatches;

export const BATCH_VERSIONS = [
  // Rows run in bulk activities; only rows that need consent become children.
  { version: 2, patch: 'bulk-rows-2026-12' },
  // Rows run as parallel slices any worker can take; the window is split among them; rows counted per worker.
  { version: 3, patch: 'batch-v3-2026-12' },
  // A round's consent rows all start before the next round is taken, so a run's pending children stay within the
  // rows it takes (continueAsNewAfter, at most 1,500): Temporal fails a run's task past 2,000 pending children.
  { version: 4, patch: 'batch-v4-2026-12' },
  // A round is cut into more slices than run at once; a slice that ends makes room for the next, so rows follow the
  // workers' pace and spread over them.
  { version: 5, patch: 'batch-v5-2026-12' },
] as const satisfies VersionPatches;

/**
 * The version this run follows: the one its state carries (after continue-as-new, for types that carry it), else the
 * newest whose patch the run passes. A new run passes the newest and records that one marker only; a replayed run
 * finds the marker it recorded (or none: version 1). Call it once, before the run's first command.
 */
export function versionOfRun<V extends VersionPatches>(versions: V, carried?: VersionOf<V>): VersionOf<V> {
  if (carried !== undefined) return carried;
  for (let i = versions.length - 1; i >= 0; i--) {
    const { version, patch } = versions[i]!;
    if (patched(patch)) return version;
  }
  return 1;
}
