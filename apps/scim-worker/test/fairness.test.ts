import { describe, expect, it } from 'vitest';
import { SinkSlots } from '../src/fairness.js';

describe('SinkSlots (per-sink in-flight limit)', () => {
  it('gives out `limit` slots per key and keeps keys apart', async () => {
    const slots = new SinkSlots(2, 0);
    const a1 = await slots.acquire('org-a/s');
    const a2 = await slots.acquire('org-a/s');
    expect(a1).toBeTypeOf('function');
    expect(a2).toBeTypeOf('function');
    expect(await slots.acquire('org-a/s')).toBeUndefined();
    expect(await slots.acquire('org-b/s')).toBeTypeOf('function');
    a1!();
    a1!(); // a second release of the same slot frees nothing more
    expect(slots.active('org-a/s')).toBe(1);
  });

  it('hands a released slot to the oldest waiter without exceeding the limit', async () => {
    const slots = new SinkSlots(1, 5_000);
    const first = await slots.acquire('k');
    const order: string[] = [];
    const second = slots.acquire('k').then((r) => (order.push('second'), r));
    expect(slots.active('k')).toBe(1);
    first!();
    const release = await second;
    expect(release).toBeTypeOf('function');
    expect(order).toEqual(['second']);
    expect(slots.active('k')).toBe(1);
    release!();
    expect(slots.active('k')).toBe(0);
  });

  it('defers (undefined) after the wait, and beyond `limit` waiters at once', async () => {
    const slots = new SinkSlots(1, 50);
    const held = await slots.acquire('k');
    const waiter = slots.acquire('k');
    expect(await slots.acquire('k')).toBeUndefined(); // one waiter already queued for a limit of 1
    expect(await waiter).toBeUndefined(); // nobody released within 50 ms
    held!();
    expect(slots.active('k')).toBe(0);
    // The timed-out waiter is gone: the next release does not hand it a slot.
    const again = await slots.acquire('k');
    again!();
    expect(slots.active('k')).toBe(0);
  });
});
