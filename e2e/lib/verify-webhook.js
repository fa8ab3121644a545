import { createHmac, timingSafeEqual } from 'node:crypto';

// verifySignature checks a Pocketshop-Signature header against the raw
// request body (a Buffer or string, exactly as received).
export function verifySignature(rawBody, header, secret, toleranceSeconds = 300) {
  let t = '';
  const v1 = [];
  for (const part of String(header ?? '').split(',')) {
    const [k, v] = part.trim().split('=');
    if (k === 't') t = v;
    else if (k === 'v1') v1.push(v);
  }
  if (!/^\d+$/.test(t) || Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) return false;
  const want = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return v1.some((sig) => {
    const got = Buffer.from(sig, 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
