/**
 * A misspelt variable is silently ignored by any loader; ours names it. Only our prefixes are checked (CYCLR_,
 * TEMPORAL_, GATEWAY_): the environment holds many variables that are none of our business.
 */

const CHECKED_PREFIXES = ['CYCLR_', 'TEMPORAL_', 'GATEWAY_'];

/**
 * Names with our prefixes that other programs read from the same environment: compose and `npm run stack`
 * (ports, published addresses, retention), the Temporal CLI and Web UI, and the shell examples in the docs.
 */
export const READ_ELSEWHERE = [
  'TEMPORAL_RETENTION',
  'TEMPORAL_PORT',
  'TEMPORAL_UI_PORT',
  'TEMPORAL_UI_PUBLIC_URL',
  'TEMPORAL_CODEC_ENDPOINT',
  'TEMPORAL_CODEC_AUTH',
  'TEMPORAL_CODEC_PASS_ACCESS_TOKEN',
  'TEMPORAL_CORS_ORIGINS',
  'TEMPORAL_DEFAULT_NAMESPACE',
  'TEMPORAL_CLI_PATH',
  'TEMPORAL_TEST_SERVER_PATH',
  'TEMPORAL_ENV',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_CERT_DATA',
  'TEMPORAL_TLS_KEY_DATA',
  'TEMPORAL_TLS_CA_DATA',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
  'TEMPORAL_GRPC_META',
  'GATEWAY_PUBLISH',
  'GATEWAY_TOKEN',
] as const;

/** Edits (insert, delete, substitute) between two names: a few for a typo, many for a different word. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** One warning line per variable with our prefixes that nothing reads, with the nearest name we do read. */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv, known: ReadonlySet<string>): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!CHECKED_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (known.has(name) || (READ_ELSEWHERE as readonly string[]).includes(name)) continue;
    let nearest: string | undefined;
    let best = Infinity;
    for (const candidate of known) {
      const d = editDistance(name, candidate);
      if (d < best) [nearest, best] = [candidate, d];
    }
    // Beyond a third of the name it is another word, not a typo of one we know.
    const hint = nearest && best <= Math.max(3, Math.ceil(name.length / 3)) ? `did you mean ${nearest}?` : undefined;
    warnings.push(
      `${name}: no process reads this variable; ${hint ?? 'see the variables in docs/operations.md'} (ignored)`,
    );
  }
  return warnings;
}
