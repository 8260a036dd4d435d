#!/usr/bin/env node
// npm run icon: media/mptree.png, the Marketplace icon (256 px), from media/mptree.svg. The
// SVG is monochrome (currentColor) so that the activity bar can tint it; on the Marketplace
// it would be black on a dark page, so the PNG draws it in a light colour on a tile of the
// gallery banner's colour. Needs rsvg-convert (Debian/Ubuntu: apt-get install librsvg2-bin).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const tile = manifest.galleryBanner?.color ?? '#1e2a3a';
const ink = '#7fd1ff';
const size = 256;

const source = readFileSync(join(repoRoot, 'media', 'mptree.svg'), 'utf8');
// The drawing inside the root <svg>, with its stroke attributes, in the ink colour.
const root = /<svg\b([^>]*)>([\s\S]*)<\/svg>/.exec(source);
if (!root) throw new Error('media/mptree.svg has no <svg> element');
const rootAttrs = root[1].replace(/\s(xmlns|width|height|viewBox)="[^"]*"/g, '').replace(/currentColor/g, ink);
const body = root[2].replace(/<!--[\s\S]*?-->/g, '').replace(/currentColor/g, ink);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 24 24">
  <rect width="24" height="24" rx="4.5" fill="${tile}"/>
  <g transform="translate(2.4 2.4) scale(0.8)"${rootAttrs}>${body}</g>
</svg>`;

const out = join(repoRoot, 'media', 'mptree.png');
const result = spawnSync('rsvg-convert', ['-w', String(size), '-h', String(size), '-o', out], { input: svg });
if (result.error) throw new Error(`rsvg-convert is needed (apt-get install librsvg2-bin): ${result.error.message}`);
if (result.status !== 0) throw new Error(`rsvg-convert failed: ${result.stderr}`);
console.log(`[icon] ${out} (${size}×${size})`);
