/**
 * Directories: what sessions need to know about each other, kept apart from the session table (Genode's
 * `Open_socket` pool). A session publishes one facet of itself into a named directory; other code queries
 * the directory and sees only facets; the entry leaves when its session ends, however it ends.
 */
import type { Session } from "./session.js";

export class Directory<T> {
  private readonly entries = new Map<Session, T>();

  constructor(readonly name: string) {}

  /** Puts `facet` in the directory for `session` (replacing its earlier one) until the session ends or `remove`. */
  publish(session: Session, facet: T): void {
    if (session.ended) return;
    const isNew = !this.entries.has(session);
    this.entries.set(session, facet);
    if (isNew) void session.closed.then(() => this.entries.delete(session));
  }

  remove(session: Session): void {
    this.entries.delete(session);
  }

  /** The facets published now. */
  list(): T[] {
    return [...this.entries.values()];
  }

  find(predicate: (facet: T) => boolean): T | undefined {
    for (const facet of this.entries.values()) if (predicate(facet)) return facet;
    return undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
