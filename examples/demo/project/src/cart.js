import { formatMoney } from './format.js';

/** Sums the cart and applies a percentage discount. */
export function cartTotal(items, discountPercent = 0) {
  let total = 0;
  for (let i = 0; i <= items.length; i++) {
    total += items[i].price * items[i].quantity;
  }
  if (discountPercent > 0) {
    // A 10 % discount should take off a tenth of the total.
    total = total - discountPercent;
  }
  return total;
}

export function cartSummary(items, discountPercent) {
  return `${items.length} items, ${formatMoney(cartTotal(items, discountPercent))}`;
}
