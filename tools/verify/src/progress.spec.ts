import { Progress } from './progress';

function sink(isTTY: boolean) {
  const out = { text: '', isTTY, columns: 200, write: (chunk: string) => void (out.text += chunk) };
  return out;
}

describe('Progress', () => {
  it('redraws one terminal line in place, at most every 100 ms, and ends it', () => {
    let t = 0;
    const out = sink(true);
    const bar = new Progress(out, 'chain', 1000, 'leaves', () => t);
    t = 200;
    bar.update(500, '3 blocks');
    t = 250;
    bar.update(600); // too soon: not drawn
    t = 400;
    bar.finish(1000);
    const frames = out.text.split('\r').filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/^chain \[#{15}\.{15}\] {2}50% 500\/1000 leaves, 3 blocks, 2500 leaves\/s/);
    expect(frames[1]).toMatch(/100% 1000\/1000 leaves.*\n$/);
    expect(out.text).not.toMatch(/\n.+/);
  });

  it('writes plain lines every few seconds when stderr is not a terminal', () => {
    let t = 0;
    const out = sink(false);
    const bar = new Progress(out, 'chain', 100, 'leaves', () => t);
    for (let second = 1; second <= 12; second++) {
      t = second * 1_000;
      bar.update(second * 5);
    }
    bar.finish(100);
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toEqual([
      'chain: 5% 5/100 leaves, 5 leaves/s',
      'chain: 30% 30/100 leaves, 5 leaves/s',
      'chain: 55% 55/100 leaves, 5 leaves/s',
      'chain: 100% 100/100 leaves, 8 leaves/s',
    ]);
    expect(out.text).not.toContain('\r');
  });

  it('shows nothing when disabled', () => {
    const out = sink(true);
    const bar = new Progress(out, 'chain', 10, 'leaves', () => 1_000, true);
    bar.update(5);
    bar.finish(10);
    expect(out.text).toBe('');
  });
});
