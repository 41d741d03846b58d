import { describe, expect, it } from 'vitest';
import { blockOf, gptExt4Swap, luksLvm } from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: LUKS2 with LVM inside', () => {
  const { script, order } = recreateScript(luksLvm());

  it('formats and opens the volume before the PV inside it', () => {
    expect(order.indexOf('luks:/dev/nvme0n1p2')).toBeGreaterThan(
      order.indexOf('part:/dev/nvme0n1p2'),
    );
    expect(order.indexOf('pv:/dev/mapper/cryptlvm')).toBeGreaterThan(
      order.indexOf('luks:/dev/nvme0n1p2'),
    );
    // The file system named by its device-mapper path still follows its LV.
    expect(order.indexOf('fs:/dev/mapper/vg--crypt-root')).toBeGreaterThan(
      order.indexOf('lv:vg-crypt/root'),
    );
    expect(order.indexOf('swap:/dev/vg-crypt/swap')).toBeGreaterThan(
      order.indexOf('lv:vg-crypt/swap'),
    );
  });

  it('keeps UUID, cipher, key size, hash, PBKDF and label, with the key from the key file', () => {
    const block = blockOf(script, 'luks:/dev/nvme0n1p2');
    expect(block).toContain(
      "if luks_uuid_is '/dev/nvme0n1p2' '44444444-0000-4000-8000-00000000cccc'; then",
    );
    expect(block).toContain(
      `run cryptsetup luksFormat --batch-mode --type 'luks2' --uuid '44444444-0000-4000-8000-00000000cccc' --cipher 'aes-xts-plain64' --key-size '512' --hash 'sha256' --pbkdf 'argon2id' --label 'lvmcrypt' --key-file "$LIFEBOAT_LUKS_KEY_FILE" '/dev/nvme0n1p2'`,
    );
    expect(block).toContain(`if ! cryptsetup status 'cryptlvm' >/dev/null 2>&1; then`);
    expect(block).toContain(
      `run cryptsetup open --type luks --key-file "$LIFEBOAT_LUKS_KEY_FILE" '/dev/nvme0n1p2' 'cryptlvm'`,
    );
  });

  it('checks for the key file before the first block', () => {
    const check = script.indexOf('\nneed_luks_key_file\n');
    expect(check).toBeGreaterThan(-1);
    expect(check).toBeLessThan(script.indexOf('\n# disk:'));
    expect(recreateScript(gptExt4Swap()).script).not.toContain('\nneed_luks_key_file\n');
  });

  it('leaves the label and PBKDF out of LUKS1, which has neither', () => {
    const layout = luksLvm();
    Object.assign(layout.encrypted[0] ?? {}, { version: 1, pbkdf: 'argon2id' });
    const block = blockOf(recreateScript(layout).script, 'luks:/dev/nvme0n1p2');
    expect(block).toContain("--type 'luks1'");
    expect(block).not.toContain('--label');
    expect(block).not.toContain('--pbkdf');
  });
});
