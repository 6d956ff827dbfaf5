/**
 * Structured logs: one JSON line per event with `ts`, `level`, `msg`, and `workflowId`, `stage`, `attempt` where
 * known; secrets redacted. Implements the Temporal SDK's Logger interface, so `Runtime.install({ logger })` routes
 * the SDK's own logs, workflow `log` calls and activity `Context.current().log` calls through it.
 * The worker, the gateway and the CLI share it.
 */
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { redact, redactString } from './redact.js';

const LEVELS: Record<LogLevel, number> = { TRACE: 10, DEBUG: 20, INFO: 30, WARN: 40, ERROR: 50 };

/** Fields the SDK attaches that are noise in a log line (binary task tokens) or duplicates. */
const DROPPED = new Set(['taskToken', 'sdkComponent']);

export interface JsonLoggerOptions {
  /** `worker`, `gateway`, `cli`: which process wrote the line. */
  service: string;
  /** From LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR); INFO by default. */
  level?: LogLevel | string;
  /** Where lines go; stdout by default (containers collect it). */
  write?: (line: string) => void;
  /** Fields on every line, e.g. { taskQueue }. */
  base?: Record<string, unknown>;
  now?: () => Date;
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

export function createLogger(options: JsonLoggerOptions): JsonLogger {
  const threshold = LEVELS[parseLogLevel(options.level ?? process.env.LOG_LEVEL)];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const base = options.base ?? {};

  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    if (LEVELS[level] < threshold) return;
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries({ ...base, ...(meta ?? {}) })) {
      if (!DROPPED.has(k) && v !== undefined) fields[k] = v;
    }
    // The SDK's activity logs name the run `workflowRunId`; keep one name for searching.
    if (fields.workflowRunId !== undefined && fields.runId === undefined) {
      fields.runId = fields.workflowRunId;
      delete fields.workflowRunId;
    }
    const line = {
      ts: now().toISOString(),
      level: level.toLowerCase(),
      msg: redactString(message),
      service: options.service,
      ...(redact(fields) as Record<string, unknown>),
    };
    try {
      write(JSON.stringify(line));
    } catch {
      write(
        JSON.stringify({
          ts: line.ts,
          level: line.level,
          msg: line.msg,
          service: options.service,
          note: 'metadata not serialisable',
        }),
      );
    }
  };

  const logger: JsonLogger = {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
  return logger;
}
