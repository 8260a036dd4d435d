// Random hex strings for a run's id and its socket token, from the kernel's generator.
// /dev/urandom is read directly where there is one: loading node:crypto costs every run
// ~2.5 ms of its start, before the program can be launched. Elsewhere (Windows), node:crypto.
import * as fs from 'node:fs';

export function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  try {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      for (let got = 0; got < bytes; ) {
        const read = fs.readSync(fd, buffer, got, bytes - got, null);
        if (read <= 0) throw new Error('short read');
        got += read;
      }
    } finally {
      fs.closeSync(fd);
    }
    return buffer.toString('hex');
  } catch {
    // Loaded only here, so a run that has /dev/urandom never pays for it.
    const crypto = require('node:crypto') as typeof import('node:crypto');
    return crypto.randomBytes(bytes).toString('hex');
  }
}
