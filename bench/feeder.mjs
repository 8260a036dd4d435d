// A synthetic runtime for the scale benchmark: over one real socket connection per simulated
// process it announces 1,000 live processes and 200 queues, then streams queue counters and
// process churn at FEED_RATE events per second for FEED_SECONDS. Runs in its own process so
// its CPU is not counted as the session's.
import * as net from 'node:net';

const socketPath = process.env.MPTREE_SOCKET;
const token = process.env.MPTREE_TOKEN;
const runId = process.env.MPTREE_RUN_ID;
const seconds = Number(process.env.FEED_SECONDS ?? 10);
const rate = Number(process.env.FEED_RATE ?? 20000);
const rootPid = 1000;
const processCount = 1000;
const queueCount = 200;
const now = () => Date.now();

function connect(pid, hello) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath, () => {
      socket.write(JSON.stringify({ v: 1, type: 'hello', token, runId, pid, t: now(), ...hello }) + '\n');
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

const base = { name: 'MainProcess', daemon: false, kind: 'python', role: null, startMethod: null, target: null, argv: ['python3', 'bench.py'], python: '3.11.7', created: now() };
const main = await connect(rootPid, { ...base, ppid: 1, parentPid: null });
const send = (message) => main.write(JSON.stringify({ v: 1, t: now(), ...message }) + '\n');

let nextPid = rootPid + 1;
const live = [];
for (let i = 0; i < processCount; i++) {
  const pid = nextPid++;
  live.push(pid);
  send({ type: 'process.started', pid, parentPid: rootPid, name: `Worker-${i}`, daemon: i % 3 === 0, kind: 'process', role: null, startMethod: 'fork', target: 'work', poolId: null });
}
for (let q = 0; q < queueCount; q++) {
  send({ type: 'queue.created', id: `q${rootPid}-${q}`, kind: q % 4 === 0 ? 'JoinableQueue' : 'Queue', ownerPid: rootPid, maxsize: 100, site: 'bench.py:1' });
}

// Steady state: every 10 ms a line of queue depths and one of queue counts with `perTick`
// entries between them (each entry an event), plus one process exiting and one new process
// starting, so history churns.
const tickMs = 10;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000) - 2);
let events = 0;
const started = now();
await new Promise((r) => setTimeout(r, 1000));
await new Promise((resolve) => {
  const timer = setInterval(() => {
    if (now() - started > 1000 + seconds * 1000) {
      clearInterval(timer);
      resolve();
      return;
    }
    // As the runtime sends them: puts counted, depths read from the queues (gets are not
    // counted for a multiprocessing.Queue), one entry of either kind an event.
    const counts = [];
    const depths = [];
    for (let i = 0; i < perTick; i++) {
      const q = (events + i) % queueCount;
      if (i % 2) depths.push([`q${rootPid}-${q}`, (events + i) % 100]);
      else counts.push([`q${rootPid}-${q}`, 2, 0, 0]);
    }
    send({ type: 'queue.depth', depths });
    send({ type: 'queue.counts', counts });
    const gone = live.shift();
    send({ type: 'process.exited', pid: gone, exitCode: 0 });
    send({ type: 'process.reaped', pid: gone, joined: true });
    const pid = nextPid++;
    live.push(pid);
    send({ type: 'process.started', pid, parentPid: rootPid, name: `Worker-${pid}`, daemon: false, kind: 'process', role: null, startMethod: 'fork', target: 'work', poolId: null });
    events += perTick + 3;
  }, tickMs);
});
main.end();
process.stdout.write(JSON.stringify({ events }) + '\n');
