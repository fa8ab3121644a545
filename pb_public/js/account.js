// Sign up, sign in (password auth on the users collection), "my orders",
// and the customer's data: download it, or delete the account.
// The SDK keeps the session in localStorage (pb.authStore) and sends it with
// every request, so orders placed while signed in belong to the customer.
import { pb, startPage, renderHeader, money, el, errorMessage, notice, signedInCustomer, ClientResponseError } from './shop.js';
import { recentOrders, forgetOrders } from './cart.js';

const status = document.querySelector('[data-notice]');
const signedOut = document.querySelector('[data-signed-out]');
const signedIn = document.querySelector('[data-signed-in]');
const signinForm = document.querySelector('[data-signin-form]');
const signupForm = document.querySelector('[data-signup-form]');

const statusLabel = {
  pending: 'Waiting for payment', paid: 'Paid', fulfilled: 'Shipped',
  cancelled: 'Cancelled', refunded: 'Refunded', expired: 'Expired',
};

function orderLink(o, token) {
  const q = new URLSearchParams({ id: o.id });
  if (token) q.set('token', token);
  return `order.html?${q}`;
}

function formError(form, text) {
  const box = form.querySelector('[data-form-error]');
  box.textContent = text;
  box.hidden = !text;
}

function clearFieldErrors(form) {
  form.querySelectorAll('[data-error-for]').forEach((n) => { n.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
}

// The signed-in customer's orders as listed, forgotten on this device
// when the account is deleted.
let listedOrderIds = [];

async function showSignedIn(user) {
  signedOut.hidden = true;
  signedIn.hidden = false;
  signedIn.querySelector('[data-user-email]').textContent = user.email;
  renderHeader();
  const list = signedIn.querySelector('[data-order-list]');
  try {
    // The list rule only returns the signed-in customer's own orders.
    const orders = await pb.collection('orders').getList(1, 50, { sort: '-created' });
    listedOrderIds = orders.items.map((o) => o.id);
    list.replaceChildren(...(orders.items.length
      ? orders.items.map((o) => el('li', {},
        el('a', { href: orderLink(o) }, `Order #${o.number}`),
        el('span', {}, ` · ${statusLabel[o.status] || o.status} · ${money(o.total_cents, o.currency)}`)))
      : [el('li', { class: 'empty' }, 'No orders yet. ', el('a', { href: './' }, 'See the products'))]));
  } catch (err) {
    notice(status, `Your orders could not be loaded: ${errorMessage(err)}`, 'error');
  }
}

function showSignedOut() {
  signedIn.hidden = true;
  signedOut.hidden = false;
  renderHeader();
  const device = recentOrders();
  const section = signedOut.querySelector('[data-device-orders]');
  section.hidden = device.length === 0;
  signedOut.querySelector('[data-device-order-list]').replaceChildren(...device.map((o) => el('li', {},
    el('a', { href: orderLink(o, o.token) }, `Order #${o.number}`))));
}

signinForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  formError(signinForm, '');
  const f = signinForm.elements;
  try {
    const auth = await pb.collection('users').authWithPassword(f.namedItem('email').value.trim(), f.namedItem('password').value);
    signinForm.reset();
    await showSignedIn(auth.record);
  } catch (err) {
    formError(signinForm, err instanceof ClientResponseError && err.status === 400
      ? 'The email or password is not right.'
      : errorMessage(err));
  }
});

signupForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  formError(signupForm, '');
  clearFieldErrors(signupForm);
  const f = signupForm.elements;
  const email = f.namedItem('email').value.trim();
  const password = f.namedItem('password').value;
  try {
    await pb.collection('users').create({ email, password, passwordConfirm: f.namedItem('passwordConfirm').value });
    const auth = await pb.collection('users').authWithPassword(email, password);
    signupForm.reset();
    await showSignedIn(auth.record);
  } catch (err) {
    const data = err instanceof ClientResponseError ? err.response?.data || {} : {};
    let first = null;
    for (const [field, info] of Object.entries(data)) {
      const slot = signupForm.querySelector(`[data-error-for="${field}"]`);
      if (!slot) continue;
      slot.textContent = info?.message || String(info);
      const input = f.namedItem(field);
      input?.setAttribute('aria-invalid', 'true');
      first ??= input;
    }
    formError(signupForm, first ? 'Please check the fields below.' : errorMessage(err));
    first?.focus();
  }
});

// "Download my data": GET /api/shop/account/export answers a JSON file
// (Content-Disposition: attachment); the SDK sends the session with it, so
// the page saves the answer as a file itself.
signedIn.querySelector('[data-export]').addEventListener('click', async (ev) => {
  const button = ev.currentTarget;
  button.disabled = true;
  notice(status, '');
  try {
    const data = await pb.send('/api/shop/account/export', { method: 'GET' });
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const link = el('a', { href: url, download: `my-data-${data.exported_at.slice(0, 10)}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (err) {
    notice(status, `Your data could not be downloaded: ${errorMessage(err)}`, 'error');
  } finally {
    button.disabled = false;
  }
});

// "Delete my account": POST /api/shop/account/erase with the password. A
// wrong password is a 401; an order not yet shipped a 400 that says which.
const eraseForm = signedIn.querySelector('[data-erase-form]');
eraseForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  formError(eraseForm, '');
  clearFieldErrors(eraseForm);
  const input = eraseForm.elements.namedItem('password');
  const slot = eraseForm.querySelector('[data-error-for="password"]');
  if (!input.value) {
    slot.textContent = 'Enter your password to delete your account.';
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const button = eraseForm.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const res = await pb.send('/api/shop/account/erase', { method: 'POST', body: { password: input.value } });
    eraseForm.reset();
    pb.authStore.clear();
    forgetOrders(listedOrderIds);
    showSignedOut();
    notice(status, res.orders_kept
      ? `Your account was deleted. Your ${res.orders_kept === 1 ? 'order stays' : `${res.orders_kept} orders stay`} in the shop's books without your personal data.`
      : 'Your account was deleted.');
  } catch (err) {
    if (err instanceof ClientResponseError && err.status === 401) {
      slot.textContent = 'The password is not right.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } else {
      formError(eraseForm, errorMessage(err));
    }
  } finally {
    button.disabled = false;
  }
});

signedIn.querySelector('[data-signout]').addEventListener('click', () => {
  pb.authStore.clear();
  showSignedOut();
});

async function main() {
  await startPage();
  const user = signedInCustomer();
  if (!user) {
    showSignedOut();
    return;
  }
  try {
    // Refresh the stored session: it may have expired or been revoked.
    const auth = await pb.collection('users').authRefresh();
    await showSignedIn(auth.record);
  } catch {
    pb.authStore.clear();
    showSignedOut();
  }
}

main();
