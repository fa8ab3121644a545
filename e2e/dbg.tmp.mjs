import { startShop, ownerClient, guestClient, createProduct, guestOrder, watch } from './lib/shop.js';
const shop = await startShop();
try {
  const owner = await ownerClient(shop.url);
  const tote = await createProduct(owner, { name: 'Live Tote', stock: 3 });
  const w = guestClient(shop.url);
  await w.collection('products').subscribe('*', (e) => console.log('EVENT *', e.action, e.record.stock));
  await w.collection('products').subscribe(tote.id, (e) => console.log('EVENT id', e.action, e.record.stock));
  await owner.collection('products').update(tote.id, { stock: 10 });
  console.log('updated');
  await new Promise(r => setTimeout(r, 1000));
  const o = await guestClient(shop.url).collection('orders').create(guestOrder([[tote, 2]]));
  console.log('ordered');
  await new Promise(r => setTimeout(r, 1000));
  await guestClient(shop.url).send(`/api/shop/orders/${o.id}/cancel`, { method: 'POST', query: { token: o.token } });
  console.log('cancelled');
  await new Promise(r => setTimeout(r, 1000));
  await w.realtime.unsubscribe();
} finally { await shop.stop(); }
console.log(shop.output())
