// A live area at the bottom of a terminal for the CLI's tree, redrawn in place.
// The program shares the terminal and writes to it whenever it likes, and we cannot see those
// writes (its stdio is inherited). Moving the cursor up over "our" lines would erase the
// program's output, so instead the area lives outside a scroll region (DECSTBM): the program's
// output scrolls in the rows above, and every redraw saves and restores the cursor (DECSC/
// DECRC) in one write, so the program continues exactly where it was.

export interface TerminalSize {
  rows: number;
  columns: number;
}

const ESC = '\x1b';

export class LiveArea {
  /** Rows currently reserved at the bottom. */
  private reserved = 0;
  private closed = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly size: () => TerminalSize,
  ) {}

  get height(): number {
    return this.reserved;
  }

  /** At most half the screen, so the program keeps room to scroll. */
  maxLines(): number {
    return Math.max(0, Math.floor(this.size().rows / 2));
  }

  render(lines: readonly string[]): void {
    if (this.closed) return;
    const { rows } = this.size();
    const shown = lines.slice(0, this.maxLines());
    const n = shown.length;
    let out = '';
    if (n > this.reserved) {
      // Make room at the program's cursor before saving it: IND (ESC D) moves down a line and
      // scrolls the region (its top rows go to the scrollback) when at the bottom, keeping the
      // column; CUU then returns to the same text line. No scrolling may happen between save
      // and restore: terminals disagree on whether the saved cursor follows scrolled text
      // (xterm.js, and so VS Code, does; xterm and VTE do not).
      const grow = n - this.reserved;
      out += `${ESC}D`.repeat(grow) + `${ESC}[${grow}A`;
    }
    out += `${ESC}7`;
    if (n !== this.reserved) {
      // Rows the area gives back are cleared before the program can scroll into them.
      for (let row = rows - this.reserved + 1; row <= rows - n; row++) out += `${ESC}[${row};1H${ESC}[2K`;
      // DECSTBM homes the cursor; the restore below puts it back.
      out += n > 0 ? `${ESC}[1;${rows - n}r` : `${ESC}[r`;
    }
    shown.forEach((line, i) => {
      out += `${ESC}[${rows - n + 1 + i};1H${ESC}[2K${line}`;
    });
    out += `${ESC}8`;
    this.reserved = n;
    this.write(out);
  }

  /** After a resize the old geometry is meaningless: start over. */
  reset(): void {
    if (this.closed) return;
    this.write(`${ESC}7${ESC}[r${ESC}8`);
    this.reserved = 0;
  }

  /** Gives the whole terminal back (scroll region reset, area cleared). Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { rows } = this.size();
    let out = `${ESC}7${ESC}[r`;
    for (let row = rows - this.reserved + 1; row <= rows; row++) out += `${ESC}[${row};1H${ESC}[2K`;
    out += `${ESC}8`;
    this.reserved = 0;
    this.write(out);
  }
}
