/**
 * Struct layout: which data bits and pointer slots each field gets, exactly as capnp 0.9.2 decides
 * (the `StructLayout` of its node-translator.c++). Results must match bit for bit, since they are wire format.
 *
 * ## How the node translator drives it
 * Create one `StructLayout` per struct (or per method `$Params`/`$Results` struct). Build scopes while
 * walking declarations, then visit members **in ordinal order** and place each one:
 *
 * - a field of a struct, or of a plain (non-union) group, goes into the enclosing scope itself: a plain group
 *   has no scope of its own, its fields share the scope that holds the group;
 * - an unnamed union of a scope S, or a named union that is a member of S (not of a union), is
 *   `new UnionLayout(S)`;
 * - each member of a union U gets `U.newMember()`: a field member is placed in it (a one-field group), a
 *   group member's fields are all placed in it, and a named union member U2 is `new UnionLayout(U.newMember())`;
 * - place a field with `placeField(scope, type.which)` (or call addVoid/addData/addPointer yourself);
 * - when a union with an explicit ordinal (`u @N :union`) comes up at N, call `addDiscriminant()`; if it
 *   returns false capnp reports "Union ordinal, if specified, must be greater than no more than one of its
 *   member ordinals (i.e. there can only be one field retroactively unionized)." on the ordinal;
 * - at the end call `finish()` on every union, in capnp's order: the struct's unnamed union first, then the
 *   other unions (named ones, and groups' unnamed ones) in declaration pre-order. `finish()` only allocates a
 *   discriminant no member did (which happens only in schemas with errors, e.g. a one-member union), so the
 *   order matters only there. Then read `discriminantOffset`, and `dataWordCount`/`pointerCount` of the
 *   `StructLayout` (groups copy them).
 *
 * `addData`/`addVoid`/`tryExpandData` can throw `LayoutBadNewsError` while placing a field: capnp 0.9.2's
 * refusal of layouts hit by its old issue 344 (it aborts with "context: member.name = FIELD" and this
 * message); report it as an error on that field and stop laying out the struct.
 *
 * Units: `lgSize` is log2 of a size in bits (0 = Bool ... 6 = 64-bit); data offsets are returned in units of
 * the field's own size (bit offset >> lgSize), as `Field.slot.offset` stores them; pointer offsets are
 * pointer indices; the discriminant offset is in 16-bit units.
 */
import type { Type } from "../model/schema.js";

/** Sizes are 2^0..2^6 bits; one data word is lgSize 6. */
const WORD_LG = 6;

/** What capnp reports when a layout would differ from capnp 0.5's (issue 344). Report it on the field. */
export const BAD_NEWS_MESSAGE =
  "Bad news: Cap'n Proto 0.5.x and previous contained a bug which would cause this schema to be compiled " +
  "incorrectly. Please see: https://github.com/sandstorm-io/capnproto/issues/344";

export class LayoutBadNewsError extends Error {
  constructor() {
    super(BAD_NEWS_MESSAGE);
    this.name = "LayoutBadNewsError";
  }
}

/** A place fields can be added to: a struct, or one member of a union. */
export interface LayoutScope {
  /** A Void field: takes no space, but still counts as a member for union bookkeeping. */
  addVoid(): void;
  /** Allocates 2^lgSize bits (0 <= lgSize <= 6); returns the offset in units of that size. */
  addData(lgSize: number): number;
  /** Allocates a pointer slot; returns its index. */
  addPointer(): number;
  /**
   * Tries to grow the previously allocated space (oldLgSize, oldOffset) in place to
   * 2^expansionFactor times its size, by absorbing free space right after it. True on success, in which
   * case the space now sits at offset `oldOffset >> expansionFactor` in units of the new size.
   */
  tryExpandData(oldLgSize: number, oldOffset: number, expansionFactor: number): boolean;
}

/**
 * Free space inside an allocated region: at most one hole per size 2^0..2^5 bits, each stored as its offset
 * in units of its own size. Invariant: offset 0 is never a hole (the first allocation always takes the start
 * of a region), so 0 means "no hole of this size".
 */
class HoleSet {
  readonly holes = [0, 0, 0, 0, 0, 0];

  /** Takes the smallest hole of at least 2^lgSize bits, splitting the rest; null when none fits. */
  tryAllocate(lgSize: number): number | null {
    if (lgSize >= this.holes.length) return null;
    if (this.holes[lgSize] !== 0) {
      const result = this.holes[lgSize];
      this.holes[lgSize] = 0;
      return result;
    }
    const next = this.tryAllocate(lgSize + 1);
    if (next === null) return null;
    // Take the first half of the bigger hole; its second half becomes a hole of our size.
    this.holes[lgSize] = next * 2 + 1;
    return next * 2;
  }

  /**
   * After allocating 2^lgSize bits at the start of a fresh 2^limitLgSize region, records the rest as holes
   * of sizes lgSize .. limitLgSize-1; `offset` is the first hole's offset (odd, in units of 2^lgSize).
   */
  addHolesAtEnd(lgSize: number, offset: number, limitLgSize = this.holes.length): void {
    for (; lgSize < limitLgSize; lgSize++) {
      this.holes[lgSize] = offset;
      offset = (offset + 1) >> 1;
    }
  }

  /** Grows (oldLgSize, oldOffset) by merging it with the holes right after it, all or nothing. */
  tryExpand(oldLgSize: number, oldOffset: number, expansionFactor: number): boolean {
    if (expansionFactor === 0) return true;
    if (oldLgSize === this.holes.length) return false; // already a whole word
    if (this.holes[oldLgSize] !== oldOffset + 1) return false; // the buddy is not free
    if (!this.tryExpand(oldLgSize + 1, oldOffset >> 1, expansionFactor - 1)) return false;
    this.holes[oldLgSize] = 0;
    return true;
  }

  /** lgSize of the smallest hole of at least 2^lgSize bits, or null. */
  smallestAtLeast(lgSize: number): number | null {
    for (let i = lgSize; i < this.holes.length; i++) if (this.holes[i] !== 0) return i;
    return null;
  }
}

/** The top-level scope: a struct's data and pointer sections. */
export class StructLayout implements LayoutScope {
  /** Data section size in 64-bit words; grows one word at a time. */
  dataWordCount = 0;
  /** Pointer section size; pointers are handed out in order. */
  pointerCount = 0;
  private readonly holes = new HoleSet();

  addVoid(): void {}

  addData(lgSize: number): number {
    const hole = this.holes.tryAllocate(lgSize);
    if (hole !== null) return hole;
    const offset = this.dataWordCount++ << (WORD_LG - lgSize);
    this.holes.addHolesAtEnd(lgSize, offset + 1);
    return offset;
  }

  addPointer(): number {
    return this.pointerCount++;
  }

  tryExpandData(oldLgSize: number, oldOffset: number, expansionFactor: number): boolean {
    return this.holes.tryExpand(oldLgSize, oldOffset, expansionFactor);
  }
}

/** A region of the parent scope that all members of one union share: 2^lgSize bits at `offset`. */
interface DataLocation {
  lgSize: number;
  offset: number;
}

/**
 * A union: the data and pointer locations its members share, allocated from the parent scope on demand,
 * and its 16-bit discriminant.
 */
export class UnionLayout {
  /** Discriminant offset in 16-bit units, once allocated. */
  discriminantOffset: number | null = null;
  readonly dataLocations: DataLocation[] = [];
  readonly pointerLocations: number[] = [];
  private membersWithFields = 0;

  constructor(readonly parent: LayoutScope) {}

  /** A scope for one member of this union (a field, a group, or a named union nested in this one). */
  newMember(): GroupLayout {
    return new GroupLayout(this);
  }

  /**
   * Allocates the discriminant if not done yet: true if this call allocated it. Called for the union's
   * explicit ordinal; also happens by itself when a second member adds its first field.
   */
  addDiscriminant(): boolean {
    if (this.discriminantOffset !== null) return false;
    this.discriminantOffset = this.parent.addData(4);
    return true;
  }

  /** Allocates the discriminant if nothing did yet, and returns its offset (16-bit units). */
  finish(): number {
    this.addDiscriminant();
    return this.discriminantOffset!;
  }

  /** @internal A member placed its first field (Void included). */
  memberStarted(): void {
    // Before the second member exists the union could still be a retroactively unionized field, so the
    // discriminant waits until then.
    if (++this.membersWithFields === 2) this.addDiscriminant();
  }

  /** @internal */
  addNewDataLocation(lgSize: number): number {
    const offset = this.parent.addData(lgSize);
    this.dataLocations.push({ lgSize, offset });
    return offset;
  }

  /** @internal */
  addNewPointerLocation(): number {
    const index = this.parent.addPointer();
    this.pointerLocations.push(index);
    return index;
  }

  /** @internal Grows a location in place in the parent; on success it is re-expressed in the new size. */
  expandLocation(location: DataLocation, newLgSize: number): boolean {
    if (newLgSize <= location.lgSize) return true;
    if (!this.parent.tryExpandData(location.lgSize, location.offset, newLgSize - location.lgSize)) return false;
    location.offset >>= newLgSize - location.lgSize;
    location.lgSize = newLgSize;
    return true;
  }
}

/**
 * How much of one union data location a member uses: the first 2^lgSizeUsed bits of it, with holes inside
 * that prefix. Offsets here are relative to the location's start.
 */
class LocationUsage {
  isUsed = false;
  lgSizeUsed = 0;
  readonly holes = new HoleSet();

  /** Size of the smallest free space of at least 2^lgSize bits this location could give, or null. */
  smallestHoleAtLeast(location: DataLocation, lgSize: number): number | null {
    if (!this.isUsed) return lgSize <= location.lgSize ? location.lgSize : null;
    if (lgSize >= this.lgSizeUsed) {
      // No hole is that big, but doubling the used prefix would make room if the location allows.
      return lgSize < location.lgSize ? lgSize : null;
    }
    const hole = this.holes.smallestAtLeast(lgSize);
    if (hole !== null) return hole;
    // Doubling the used prefix opens a hole as big as the current usage.
    return this.lgSizeUsed < location.lgSize ? this.lgSizeUsed : null;
  }

  /** Allocates where `smallestHoleAtLeast` said there is room; returns the struct-relative offset. */
  allocateFromHole(location: DataLocation, lgSize: number): number {
    let result: number;
    if (!this.isUsed) {
      result = 0;
      this.isUsed = true;
      this.lgSizeUsed = lgSize;
    } else if (lgSize >= this.lgSizeUsed) {
      // Grow usage to twice the field's size and put the field in the second half.
      this.holes.addHolesAtEnd(this.lgSizeUsed, 1, lgSize);
      this.lgSizeUsed = lgSize + 1;
      result = 1;
    } else {
      const hole = this.holes.tryAllocate(lgSize);
      if (hole !== null) {
        result = hole;
      } else {
        // Double the usage and allocate at the start of the new half.
        result = 1 << (this.lgSizeUsed - lgSize);
        this.holes.addHolesAtEnd(lgSize, result + 1, this.lgSizeUsed);
        this.lgSizeUsed += 1;
      }
    }
    return (location.offset << (location.lgSize - lgSize)) + result;
  }

  /** Makes room by growing the location itself in the parent; struct-relative offset or null. */
  tryAllocateByExpanding(union: UnionLayout, location: DataLocation, lgSize: number): number | null {
    if (!this.isUsed) {
      if (!union.expandLocation(location, lgSize)) return null;
      this.isUsed = true;
      this.lgSizeUsed = lgSize;
      return location.offset << (location.lgSize - lgSize);
    }
    const newSize = Math.max(this.lgSizeUsed, lgSize) + 1;
    if (!this.tryExpandUsage(union, location, newSize, true)) return null;
    const hole = this.holes.tryAllocate(lgSize)!; // the expansion made a hole of at least this size
    return (location.offset << (location.lgSize - lgSize)) + hole;
  }

  /** Grows a field of this member in place (an inner union's location); offsets location-relative. */
  tryExpand(union: UnionLayout, location: DataLocation, oldLgSize: number, oldOffset: number, factor: number): boolean {
    if (oldOffset === 0 && this.lgSizeUsed === oldLgSize) {
      // The field is all this member uses here, so the whole usage grows.
      return this.tryExpandUsage(union, location, oldLgSize + factor, false);
    }
    // Other data follows in the used prefix; only holes right after the field can be absorbed.
    return this.holes.tryExpand(oldLgSize, oldOffset, factor);
  }

  private tryExpandUsage(union: UnionLayout, location: DataLocation, desired: number, newHoles: boolean): boolean {
    if (desired > location.lgSize && !union.expandLocation(location, desired)) return false;
    if (newHoles) this.holes.addHolesAtEnd(this.lgSizeUsed, 1, desired);
    // capnp 0.5 wrongly added holes here too; 0.9.2 refuses rather than silently changing the layout.
    else throw new LayoutBadNewsError();
    this.lgSizeUsed = desired;
    return true;
  }
}

/**
 * One member of a union: a one-field group for a field member, the group of a group member, or the wrapper
 * of a named union nested in the union. Its fields reuse the union's shared locations where this member
 * has not used them yet.
 */
export class GroupLayout implements LayoutScope {
  /** Parallel to `union.dataLocations` (may be shorter: locations added since are untouched). */
  private readonly usage: LocationUsage[] = [];
  private pointersUsed = 0;
  private hasMembers = false;

  constructor(readonly union: UnionLayout) {}

  private addMember(): void {
    if (!this.hasMembers) {
      this.hasMembers = true;
      this.union.memberStarted();
    }
  }

  addVoid(): void {
    this.addMember();
    // An enclosing union (when this union is itself a union member) must also count this as a field,
    // so its discriminant is allocated at the right moment.
    this.union.parent.addVoid();
  }

  addData(lgSize: number): number {
    this.addMember();
    const locations = this.union.dataLocations;
    let bestSize = Infinity;
    let best = -1;
    for (let i = 0; i < locations.length; i++) {
      if (this.usage.length === i) this.usage.push(new LocationUsage());
      const hole = this.usage[i].smallestHoleAtLeast(locations[i], lgSize);
      if (hole !== null && hole < bestSize) {
        bestSize = hole;
        best = i;
      }
    }
    if (best >= 0) return this.usage[best].allocateFromHole(locations[best], lgSize);

    for (let i = 0; i < locations.length; i++) {
      const offset = this.usage[i].tryAllocateByExpanding(this.union, locations[i], lgSize);
      if (offset !== null) return offset;
    }

    const offset = this.union.addNewDataLocation(lgSize);
    const fresh = new LocationUsage();
    fresh.isUsed = true;
    fresh.lgSizeUsed = lgSize;
    this.usage.push(fresh);
    return offset;
  }

  addPointer(): number {
    this.addMember();
    const shared = this.union.pointerLocations;
    if (this.pointersUsed < shared.length) return shared[this.pointersUsed++];
    this.pointersUsed++;
    return this.union.addNewPointerLocation();
  }

  tryExpandData(oldLgSize: number, oldOffset: number, expansionFactor: number): boolean {
    // capnp 0.5 went on where it should have given up; 0.9.2 refuses if going on would then succeed.
    const mustFail = oldLgSize + expansionFactor > WORD_LG || (oldOffset & ((1 << expansionFactor) - 1)) !== 0;
    const locations = this.union.dataLocations;
    for (let i = 0; i < this.usage.length; i++) {
      const location = locations[i];
      if (location.lgSize >= oldLgSize && oldOffset >> (location.lgSize - oldLgSize) === location.offset) {
        const local = oldOffset - (location.offset << (location.lgSize - oldLgSize));
        const result = this.usage[i].tryExpand(this.union, location, oldLgSize, local, expansionFactor);
        if (mustFail && result) throw new LayoutBadNewsError();
        return result;
      }
    }
    throw new Error("layout: tried to expand space that was never allocated");
  }
}

/** How a field of this type is stored: nothing, data of 2^lgSize bits, or a pointer. */
export type SlotSize = { kind: "void" } | { kind: "data"; lgSize: number } | { kind: "pointer" };

const DATA_LG_SIZE: Partial<Record<Type["which"], number>> = {
  bool: 0,
  int8: 3,
  uint8: 3,
  int16: 4,
  uint16: 4,
  enum: 4,
  int32: 5,
  uint32: 5,
  float32: 5,
  int64: 6,
  uint64: 6,
  float64: 6,
};

export function slotSize(which: Type["which"]): SlotSize {
  if (which === "void") return { kind: "void" };
  const lgSize = DATA_LG_SIZE[which];
  return lgSize === undefined ? { kind: "pointer" } : { kind: "data", lgSize };
}

/** Places a field of the given type in `scope`; returns `slot.offset` (0 for Void, as capnp stores it). */
export function placeField(scope: LayoutScope, which: Type["which"]): number {
  const size = slotSize(which);
  if (size.kind === "void") {
    scope.addVoid();
    return 0;
  }
  return size.kind === "pointer" ? scope.addPointer() : scope.addData(size.lgSize);
}
