/** `length` hex digits from an injected source of randomness (lease owners, creation nonces). */
export function randomHex(random: () => number, length: number): string {
  let hex = '';
  while (hex.length < length)
    hex += Math.floor(random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return hex.slice(0, length);
}
