/**
 * Structured logs through pino: one JSON line per event with `ts`, `level`, `msg`, `service`, and `workflowId`,
 * `stage`, `attempt` where known; secrets redacted. On a terminal (the local stack) lines are pretty-printed by
 * pino-pretty instead. `createLogger` returns the Temporal SDK's Logger interface, so `Runtime.install({ logger })`
 * routes the SDK's own logs, workflow `log` calls and activity `Context.current().log` calls through it.
 * The worker, the gateway, the codec server and the CLI share it; `pinoLineStream` re-emits the lines of a pino
 * configured elsewhere (fastify's) through ours.
 */
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { Failure } from '../contract/failures.js';
import { redact, redactString } from './redact.js';

const LEVELS: Record<LogLevel, number> = { TRACE: 10, DEBUG: 20, INFO: 30, WARN: 40, ERROR: 50 };

/** Fields the SDK attaches that are noise in a log line (binary task tokens) or duplicates. */
const DROPPED = new Set(['taskToken', 'sdkComponent']);

export interface JsonLoggerOptions {
  /** `worker`, `gateway`, `cli`: which process wrote the line. */
  service: string;
  /** TRACE, DEBUG, INFO, WARN, ERROR (a process passes its config's LOG_LEVEL); INFO by default. */
  level?: LogLevel | string;
  /** Where lines go (one JSON object, no newline); stdout by default (containers collect it). */
  write?: (line: string) => void;
  /** Fields on every line, e.g. { taskQueue }. */
  base?: Record<string, unknown>;
  now?: () => Date;
  /** Pretty lines instead of JSON (a process passes its config's LOG_FORMAT). Default: when stdout is a terminal. */
  pretty?: boolean;
}

export interface JsonLogger extends Logger {
  /** A logger that adds these fields to every line. */
  child(fields: Record<string, unknown>): JsonLogger;
}

export function parseLogLevel(raw: string | undefined): LogLevel {
  const level = (raw ?? 'INFO').toUpperCase();
  if (level in LEVELS) return level as LogLevel;
  throw new Error(`LOG_LEVEL: "${raw}" is not a level; use one of TRACE, DEBUG, INFO, WARN, ERROR`);
}

/** Drops SDK noise, keeps one name for the run id, and masks secrets. */
function clean(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (!DROPPED.has(k) && v !== undefined) out[k] = v;
  }
  // The SDK's activity logs name the run `workflowRunId`; keep one name for searching.
  if (out.workflowRunId !== undefined && out.runId === undefined) {
    out.runId = out.workflowRunId;
    delete out.workflowRunId;
  }
  return redact(out) as Record<string, unknown>;
}

/**
 * Our field names, string levels, redaction of fields and messages. Not for fastify's own pino: redaction copies
 * each field before pino's serializers run, which would lose the `req`/`res` shapes they read; use pinoLineStream.
 */
function pinoOptions(options: Pick<JsonLoggerOptions, 'service' | 'level' | 'base' | 'now'>): LoggerOptions {
  const now = options.now ?? (() => new Date());
  return {
    level: parseLogLevel(options.level).toLowerCase(),
    // Replaces pino's pid/hostname: containers and the local stack already say where a line came from. Other fixed
    // fields are merged into each line by `adapt`, not given to pino, which would write a key twice.
    base: { service: options.service },
    messageKey: 'msg',
    timestamp: () => `,"ts":"${now().toISOString()}"`,
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => clean(bindings),
      log: (fields) => clean(fields),
    },
    hooks: {
      // Messages are free text and may carry URLs with tokens; mask them as fields are masked.
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? redactString(a) : a)) as Parameters<typeof method>;
        return method.apply(this, masked);
      },
    },
  };
}

function destination(options: JsonLoggerOptions): DestinationStream {
  const { write } = options;
  const sink = write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : undefined;
  if (options.pretty ?? (!write && process.stdout.isTTY)) {
    return pretty({
      sync: true,
      messageKey: 'msg',
      timestampKey: 'ts',
      translateTime: 'SYS:HH:MM:ss.l',
      // pino-pretty pipes into its destination, so a `write` function needs a real stream around it.
      destination: write ? new Writable({ write: (chunk: Buffer, _enc, done) => done(void write(String(chunk))) }) : 1,
    });
  }
  return sink ?? pino.destination({ dest: 1, sync: true });
}

/**
 * `fields` go on every line, merged with each call's own: pino writes its bindings and a call's fields side by side,
 * so a field in both (the SDK passes `taskQueue` with every worker log) would appear twice in one JSON line.
 */
function adapt(p: pino.Logger, fields: Record<string, unknown> = {}): JsonLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) =>
    p[level.toLowerCase() as Lowercase<LogLevel>]({ ...fields, ...meta }, message);
  return { ...byLevel(log), child: (more) => adapt(p, { ...fields, ...more }) };
}

/** `log` and the five level methods, each through `log`. */
function byLevel(log: (level: LogLevel, message: string, meta?: LogMetadata) => void): Omit<JsonLogger, 'child'> {
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

export function createLogger(options: JsonLoggerOptions): JsonLogger {
  return adapt(pino(pinoOptions(options), destination(options)), options.base);
}

/**
 * The SDK logs every workflow that ends by throwing as a WARN "Workflow failed" with the error and its stack. A
 * provisioning cancelled on request ends that way as a normal outcome, so that line becomes one INFO line with the
 * reason. The error reaches the worker's thread as a plain Error (its `type` is lost on the way), so the run is
 * known by its own earlier line: the stage `cancelled` with a Cancelled error. The few runs remembered are bounded.
 */
export function withCancelsAsInfo(logger: JsonLogger, remember = 1000): JsonLogger {
  const cancelled = new Map<string, unknown>(); // runId -> reason
  const wrap = (inner: JsonLogger): JsonLogger => {
    const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
      const runId = meta?.runId;
      const error = meta?.error as { type?: unknown; message?: unknown } | undefined;
      if (typeof runId === 'string' && meta?.stage === 'cancelled' && error?.type === Failure.Cancelled) {
        if (cancelled.size >= remember) cancelled.delete(cancelled.keys().next().value!);
        cancelled.set(runId, error.message);
      } else if (typeof runId === 'string' && message === 'Workflow failed' && cancelled.has(runId)) {
        const { error: _error, ...fields } = meta!;
        inner.info('Workflow ended: cancelled on request', { ...fields, reason: cancelled.get(runId) });
        cancelled.delete(runId);
        return;
      }
      inner.log(level, message, meta);
    };
    return { ...byLevel(log), child: (fields) => wrap(inner.child(fields)) };
  };
  return wrap(logger);
}

/** pino's numeric levels; fatal (60) is logged as an error, the highest level the SDK interface has. */
const PINO_LEVELS: Record<number, LogLevel> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'ERROR',
};

/**
 * A stream for a pino we do not configure (fastify's request logs): each JSON line it writes comes out again
 * through our logger, with our field names, masking and format.
 */
export function pinoLineStream(options: JsonLoggerOptions): { write(line: string): void } {
  const logger = createLogger(options);
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        logger.info(line.trim());
        return;
      }
      // pid, hostname and time are pino's defaults, replaced by ours (service, ts).
      const { level, time: _time, pid: _pid, hostname: _hostname, msg, ...fields } = entry;
      logger.log(PINO_LEVELS[Number(level)] ?? 'INFO', typeof msg === 'string' ? msg : '', fields);
    },
  };
}
