/**
 * Requests per second against Cyclr, across every worker together. Temporal's task-queue-wide activity rate
 * (`maxTaskQueueActivitiesPerSecond`) is enforced by the server, so it holds however many workers poll the queue.
 * It counts activities, not HTTP requests: a provisioning activity makes at most two requests in the normal case
 * (install = look up by Name, then POST), so the activity rate is half the request limit.
 */
export const MAX_REQUESTS_PER_ACTIVITY = 2;
/**
 * The server's limiter lets short bursts through, and an install's two requests can land in the same second as
 * other activities' requests: measured peaks of 108/s against a limit of 100 with no margin, and 102/s with 0.8.
 */
export const BURST_MARGIN = 0.7;

export function activitiesPerSecondFor(requestsPerSecond: number): number {
  return (requestsPerSecond * BURST_MARGIN) / MAX_REQUESTS_PER_ACTIVITY;
}
