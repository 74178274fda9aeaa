/**
 * Progress on stderr. On a terminal one line is redrawn in place at most 10 times a second;
 * elsewhere (CI logs, pipes) a line is printed every 10 % so logs stay short.
 */
export interface Progress {
  update(fraction: number, detail: string): void;
  done(detail: string): void;
}

export const createProgress = (label: string, stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress => {
  if (quiet) return { update: () => {}, done: () => {} };
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  return {
    update(fraction, detail) {
      const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        const width = 24;
        const full = Math.round((pct / 100) * width);
        stream.write(`\r${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(pct).padStart(3)}% ${detail}\x1b[K`);
      } else {
        const decile = Math.floor(pct / 10);
        if (decile === lastDecile) return;
        lastDecile = decile;
        stream.write(`${label} ${pct}% ${detail}\n`);
      }
    },
    done(detail) {
      stream.write(`${tty ? '\r' : ''}${label} done: ${detail}${tty ? '\x1b[K' : ''}\n`);
    },
  };
};

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtBytes = (n: number): string =>
  n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
