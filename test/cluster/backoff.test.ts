import { Backoff } from '../../src/cluster/backoff';

describe('Backoff', () => {
  it('doubles from 200 ms to a 30 s cap, each delay jittered between half and the full step', () => {
    const lowest = new Backoff(undefined, () => 0);
    const highest = new Backoff(undefined, () => 0.999999);
    const low = Array.from({ length: 10 }, () => lowest.nextDelayMs());
    const high = Array.from({ length: 10 }, () => Math.round(highest.nextDelayMs()));
    expect(low).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]);
    expect(high).toEqual([200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it('starts again from the first step after reset()', () => {
    const backoff = new Backoff(undefined, () => 0);
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    backoff.reset();
    expect(backoff.nextDelayMs()).toBe(100);
  });
});
