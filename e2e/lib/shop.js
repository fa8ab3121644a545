// Starts the real pocketshop binary on a fresh data dir and gives tests
// SDK clients for it. Nothing here fakes the server: tests talk HTTP to the
// binary a shop owner would run.
import { spawn, execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { EventSource } from 'eventsource';
import PocketBase from 'pocketbase';

// Node 20 has no EventSource; the SDK's realtime client needs one.
globalThis.EventSource ??= EventSource;

const run = promisify(execFile);

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OWNER_EMAIL = 'owner@example.com';
export const OWNER_PASSWORD = 'owner-password-123';

let built;

/**
 * Returns the path of the pocketshop binary: $POCKETSHOP_BIN (make test-js
 * builds it), or one built here from the repository once per test process.
 */
export function binary() {
  if (process.env.POCKETSHOP_BIN) return Promise.resolve(process.env.POCKETSHOP_BIN);
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pocketshop-bin-'));
    const bin = join(dir, 'pocketshop');
    await run('go', ['build', '-o', bin, '.'], { cwd: REPO, env: { ...process.env, CGO_ENABLED: '0' } });
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    return bin;
  })();
  return built;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts `pocketshop serve` on a new data dir with a superuser, on a free
 * port of 127.0.0.1. Stripe is not configured (its variables are removed
 * from the environment); extraEnv adds variables (e.g.
 * POCKETSHOP_WEBHOOK_ALLOW_PRIVATE). Call stop() when done.
 */
export async function startShop(extraEnv = {}) {
  const bin = await binary();
  const dir = await mkdtemp(join(tmpdir(), 'pocketshop-data-'));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('STRIPE_')) delete env[k];
  Object.assign(env, extraEnv);

  // --dev=false: PocketBase guesses "go run" (and logs every SQL statement)
  // for binaries under the temp dir.
  await run(bin, ['superuser', 'upsert', OWNER_EMAIL, OWNER_PASSWORD, '--dir', dir, '--dev=false'], { env });

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = spawn(bin, ['serve', '--dir', dir, '--http', `127.0.0.1:${port}`, '--dev=false'], {
      env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (d) => { output += d; });
    proc.stderr.on('data', (d) => { output += d; });
    let exited = false;
    proc.on('exit', () => { exited = true; });

    // Wait until the server answers (or the process dies).
    while (!exited) {
      try {
        const res = await fetch(`${url}/api/health`);
        if (res.ok) break;
      } catch { /* not listening yet */ }
      await sleep(50);
    }
    if (exited) {
      if (attempt < 3 && /address already in use/.test(output)) continue; // the free port was taken meanwhile
      throw new Error(`pocketshop serve exited:\n${output}`);
    }

    return {
      url,
      dir,
      output: () => output,
      async stop() {
        if (!exited) {
          const done = new Promise((r) => proc.once('exit', r));
          proc.kill('SIGTERM');
          await done;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Returns an SDK client for url signed in as the shop owner (superuser). */
export async function ownerClient(url) {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  await pb.collection('_superusers').authWithPassword(OWNER_EMAIL, OWNER_PASSWORD);
  return pb;
}

/** Returns a guest SDK client for url. */
export function guestClient(url) {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  return pb;
}

/** Signs up a customer and returns an SDK client signed in as them. */
export async function customerClient(url, email, password = 'customer-password-123') {
  const pb = guestClient(url);
  await pb.collection('users').create({ email, password, passwordConfirm: password });
  await pb.collection('users').authWithPassword(email, password);
  return pb;
}

let slugSeq = 0;

/**
 * Creates an active product as the owner. With image: a square PNG of the
 * given colour is uploaded (PocketBase makes the 400x400 thumb from it).
 */
export async function createProduct(owner, { name, price_cents = 1000, stock = 10, low_stock_threshold = 2, image = null, active = true, description = '' }) {
  const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${++slugSeq}`;
  const data = { name, slug, price_cents, stock, low_stock_threshold, active, description, sku: slug.toUpperCase() };
  if (!image) return owner.collection('products').create(data);
  const form = new FormData();
  for (const [k, v] of Object.entries(data)) form.append(k, String(v));
  form.append('images', new Blob([solidPNG(480, image)], { type: 'image/png' }), `${slug}.png`);
  return owner.collection('products').create(form);
}

/** Returns a minimal body for a guest order of the given lines. */
export function guestOrder(lines, extra = {}) {
  return {
    email: 'ann@example.com',
    items: lines.map(([product, quantity]) => ({ product: product.id ?? product, quantity })),
    payment_method: 'manual',
    shipping_address: { name: 'Ann Example', line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US' },
    ...extra,
  };
}

/**
 * Subscribes pb to a realtime topic and returns {event}: a promise of the
 * first event for which match returns true (then it unsubscribes). It
 * returns once the server has the subscription, so make the change after.
 */
export async function watch(pb, collection, topic, match = () => true, options = {}) {
  let resolve;
  const event = new Promise((r) => { resolve = r; });
  const unsubscribe = await pb.collection(collection).subscribe(topic, (e) => {
    if (match(e)) resolve(e);
  }, options);
  return { event: event.then(async (e) => { await unsubscribe(); return e; }) };
}

// --- a tiny PNG encoder, so tests need no image files -----------------------

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Returns a size×size PNG: a colour ("#rrggbb") with a lighter circle. */
export function solidPNG(size, color) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  const rows = Buffer.alloc((size * 3 + 1) * size);
  const mid = size / 2;
  for (let y = 0; y < size; y++) {
    const row = y * (size * 3 + 1);
    rows[row] = 0;
    for (let x = 0; x < size; x++) {
      const inside = (x - mid) ** 2 + (y - mid) ** 2 < (size * 0.3) ** 2;
      const o = row + 1 + x * 3;
      rows[o] = inside ? 255 - (255 - r) / 2 : r;
      rows[o + 1] = inside ? 255 - (255 - g) / 2 : g;
      rows[o + 2] = inside ? 255 - (255 - b) / 2 : b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
