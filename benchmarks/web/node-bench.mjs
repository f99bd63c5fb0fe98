/**
 * node-bench.mjs: the JS decoder's speed in Node, for bench_web.py.
 *
 *   node node-bench.mjs VQ_JS REPEAT FILE.vq [FILE.vq ...]
 *
 * Imports the decoder from VQ_JS (vidquant/web/vq.js), reads each file into memory (untimed)
 * and prints one JSON line per file (decode-loop.mjs's decodeBench passes, plus `file`), with
 * each pass's CPU time from process.cpuUsage().
 */

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decodeBench } from './decode-loop.mjs';

const [vqPath, repeat, ...files] = process.argv.slice(2);
const vq = await import(pathToFileURL(vqPath).href);
for (const file of files) {
  const bytes = new Uint8Array(readFileSync(file));
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const result = decodeBench(vq, bytes, { repeat: Number(repeat), cpuMs });
  console.log(JSON.stringify({ file, ...result }));
}
