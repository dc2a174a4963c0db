/**
 * A one-line progress bar for long CLI work, drawn on stderr only when it is a terminal (CI logs and pipes
 * get no control characters). Redraws at most every PROGRESS_REDRAW_MS so it never slows the work it shows.
 */
const PROGRESS_REDRAW_MS = 100;
const BAR_WIDTH = 30;

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < PROGRESS_REDRAW_MS && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(frac * BAR_WIDTH);
      stream.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${done}/${total}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write("\r\x1b[2K");
    },
  };
}
