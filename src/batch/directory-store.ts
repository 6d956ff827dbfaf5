/**
 * The batch store's objects as files under one directory (BATCH_STORE_DIR, or BATCH_STORE_URL=file:///path): the
 * local stack's default, or a volume every host mounts. Each write goes to a temporary name first, so a reader never
 * sees half a file; `create` links that file into place, which fails when the name is taken (atomic on POSIX).
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BatchStoreUnavailableError, type ObjectStore } from './object-store.js';

export class DirectoryObjectStore implements ObjectStore {
  readonly where: string;

  constructor(dir: string) {
    this.where = resolve(dir);
  }

  private path(key: string): string {
    return join(this.where, ...key.split('/'));
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw this.unavailable(err);
    }
  }

  async put(key: string, body: string): Promise<void> {
    const path = this.path(key);
    try {
      const tmp = await this.temporary(path, body);
      await rename(tmp, path);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async create(key: string, body: string): Promise<boolean> {
    const path = this.path(key);
    let tmp: string | undefined;
    try {
      tmp = await this.temporary(path, body);
      await link(tmp, path);
      return true;
    } catch (err) {
      if (code(err) === 'EEXIST') return false;
      throw this.unavailable(err);
    } finally {
      if (tmp) await unlink(tmp).catch(() => undefined);
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.entries(prefix)).filter((e) => e.isFile() && !e.name.endsWith('.tmp')).map((e) => e.name);
  }

  async folders(prefix: string): Promise<string[]> {
    return (await this.entries(prefix)).filter((e) => e.isDirectory()).map((e) => e.name);
  }

  private async entries(prefix: string): Promise<Dirent[]> {
    try {
      return await readdir(this.path(prefix), { withFileTypes: true });
    } catch (err) {
      if (code(err) === 'ENOENT') return [];
      throw this.unavailable(err);
    }
  }

  private async temporary(path: string, body: string): Promise<string> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, body, { mode: 0o600 });
    return tmp;
  }

  private unavailable(err: unknown): BatchStoreUnavailableError {
    const why = err instanceof Error ? err.message : String(err);
    return new BatchStoreUnavailableError(`the batch store at ${this.where} cannot be used: ${why}`, { cause: err });
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
