/**
 * `--state FILE`: the simulator's world kept on disk, so a restarted local stack finds the accounts and account
 * connectors its provisionings refer to, as Cyclr would. Written after each change (a little later, once for a
 * burst), atomically (a temporary file renamed over the old), and when the simulator closes.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SimulatorSnapshot, SimulatorState } from './state.js';

const SAVE_AFTER_MS = 100;

export class StateFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly state: SimulatorState,
  ) {}

  /** Restores the world the file holds, if there is one. */
  load(): void {
    if (!existsSync(this.path)) return;
    let snapshot: SimulatorSnapshot;
    try {
      snapshot = JSON.parse(readFileSync(this.path, 'utf8')) as SimulatorSnapshot;
    } catch (err) {
      throw new Error(
        `simulator state file ${this.path} cannot be read (${(err as Error).message}); delete it to start empty`,
      );
    }
    this.state.restore(snapshot);
  }

  /** Something changed: write soon. */
  changed(): void {
    this.timer ??= setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  save(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.state.snapshot()));
    renameSync(temporary, this.path);
  }
}
