/** Where progress goes: stderr in the CLI, so that stdout carries only the verdict. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Redraws of a terminal bar; more is flicker, fewer looks stuck. */
const TTY_INTERVAL_MS = 100;
/** Lines in a log (CI, a pipe): often enough to show life, rare enough to keep a long run's log short. */
const PLAIN_INTERVAL_MS = 5_000;
const BAR_WIDTH = 30;
const MIN_BAR = 10;

function rate(done: number, ms: number): string {
  const perSecond = ms > 0 ? (done * 1000) / ms : 0;
  return perSecond >= 10_000 ? `${Math.round(perSecond / 1000)}k` : String(Math.round(perSecond));
}

/**
 * A progress display over a known total: on a terminal one line redrawn in place (`\r`), elsewhere a plain line
 * every few seconds. `disabled` shows nothing (for --quiet).
 */
export class Progress {
  private readonly started: number;
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly out: ProgressStream,
    private readonly label: string,
    private total: number,
    private readonly unit: string,
    private readonly now: () => number = Date.now,
    private readonly disabled = false,
  ) {
    this.started = now();
  }

  /** `detail` is appended, e.g. `12 blocks`. */
  update(done: number, detail = ''): void {
    if (this.disabled) return;
    const t = this.now();
    const tty = this.out.isTTY === true;
    if (t - this.last < (tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS)) return;
    this.last = t;
    this.draw(done, detail, tty);
  }

  /** Draws the final state once and ends the terminal line. */
  finish(done: number, detail = ''): void {
    if (this.disabled) return;
    const tty = this.out.isTTY === true;
    if (tty || this.drawn) this.draw(done, detail, tty);
    if (tty && this.drawn) this.out.write('\n');
  }

  private draw(done: number, detail: string, tty: boolean): void {
    this.drawn = true;
    const total = Math.max(this.total, done);
    const fraction = total === 0 ? 1 : done / total;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const speed = `${rate(done, this.now() - this.started)} ${this.unit}/s`;
    const counts = `${done}/${total} ${this.unit}`;
    const extra = detail ? `, ${detail}` : '';
    if (!tty) {
      this.out.write(`${this.label}: ${percent.trim()} ${counts}${extra}, ${speed}\n`);
      return;
    }
    // The bar takes what the text leaves of the terminal's width, between MIN_BAR and BAR_WIDTH.
    // A pseudo-terminal without a size reports 0 columns.
    const width = ((this.out.columns ?? 0) >= 20 ? (this.out.columns as number) : 80) - 1;
    const text = `${percent} ${counts}${extra}, ${speed}`;
    const barWidth = Math.max(MIN_BAR, Math.min(BAR_WIDTH, width - this.label.length - text.length - 4));
    const filled = Math.round(fraction * barWidth);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
    const line = `${this.label} ${bar} ${text}`;
    this.out.write(`\r${line.length > width ? line.slice(0, width) : line}\x1b[K`);
  }
}
