/**
 * The connection check's Temporal Schedule, ensured by every worker at start: created if missing, brought to this
 * worker's cadence and settings if they differ, left alone otherwise. Creating is atomic at the server, so workers
 * starting together make one schedule.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { connectionCheckScheduleId, type ConnectionCheckInput } from '../contract/connection-check.js';

export interface ConnectionCheckSchedule {
  taskQueue: string;
  /** CONNECTION_CHECK_EVERY, in milliseconds. */
  everyMs: number;
  /** CONNECTION_AUTO_RECONNECT. */
  autoReconnect: boolean;
}

export async function ensureConnectionCheckSchedule(
  client: Client,
  { taskQueue, everyMs, autoReconnect }: ConnectionCheckSchedule,
): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = connectionCheckScheduleId(taskQueue);
  const args: [ConnectionCheckInput] = [{ autoReconnect }];
  const spec = { intervals: [{ every: everyMs }] };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action: { type: 'startWorkflow', workflowType: 'checkConnections', args, taskQueue, workflowId: scheduleId },
      // A check still running when the next is due is let finish; the due one is skipped, not queued.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const currentEvery = current.spec.intervals?.[0]?.every;
  const currentArgs = current.action.type === 'startWorkflow' ? current.action.args : undefined;
  const same =
    current.spec.intervals?.length === 1 &&
    currentEvery !== undefined &&
    Number(currentEvery) === everyMs &&
    JSON.stringify(currentArgs) === JSON.stringify(args);
  if (same) return 'unchanged';
  await handle.update((previous) => ({
    ...previous,
    spec,
    action: { ...previous.action, args, taskQueue },
  }));
  return 'updated';
}
