/**
 * Serialises async work per key inside this process. Writes to one resource run one at a time, so the
 * version-conditioned update that follows never loses an update between requests of the same replica, even on
 * FerretDB, whose compare-and-set is not atomic (docs/testing.md). Across replicas the conditioned update is
 * what protects the resource (atomic on MongoDB).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
