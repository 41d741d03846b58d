import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootInQemu, SIDE_BY_SIDE_CPUS } from '../../src/boot/qemu.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * network.mode as a user sees it: a host whose network is configured statically is captured,
 * its RAMDISK media built once per mode, and each booted in QEMU (user network: DHCP hands out
 * 10.0.2.15/24, DNS 10.0.2.3). What the rescue system then has is asserted: dhcp ignores the
 * captured addresses, static brings them up, none brings up nothing, and a kernel ip= argument
 * overrides the mode for one boot.
 */

/** The interface QEMU's virtio NIC gets in the rescue system (udev's name for PCI slot 2). */
const IFACE = 'ens2';
const STATIC_ADDRESS = '192.0.2.10/24';
const STATIC_DNS = '192.0.2.53';
const DHCP_ADDRESS = '10.0.2.15/24';
const DHCP_DNS = '10.0.2.3';

const engineWhy = await engineMissing();
const fixture = await debianFixture();
const fixtureWhy = 'missing' in fixture ? fixture.missing : undefined;
const fixtureRoot = 'root' in fixture ? fixture.root : '';

const box = sandbox();
const capture = join(box.dir, 'capture');

afterAll(() => {
  rmSync(box.dir, { recursive: true, force: true });
});

/**
 * Captures the fixture root as a host configured by ifupdown with a static address on IFACE.
 * The fixture is shared (cached for every test file), so the configuration goes into an overlay
 * over it, mounted only while the capture reads it.
 */
async function captureStaticHost(): Promise<void> {
  const upper = join(box.dir, 'host-upper');
  const root = join(box.dir, 'host');
  for (const dir of [join(upper, 'etc', 'network'), join(box.dir, 'host-work'), root]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(
    join(upper, 'etc', 'network', 'interfaces'),
    [
      'auto lo',
      'iface lo inet loopback',
      '',
      `auto ${IFACE}`,
      `iface ${IFACE} inet static`,
      `    address ${STATIC_ADDRESS}`,
      '    gateway 192.0.2.1',
      `    dns-nameservers ${STATIC_DNS}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(upper, 'etc', 'resolv.conf'), `nameserver ${STATIC_DNS}\n`);
  await execa('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${fixtureRoot},upperdir=${upper},workdir=${join(box.dir, 'host-work')}`,
    root,
  ]);
  try {
    const result = await lifeboat(
      ['capture', '--root', root, '--out', capture, ...box.sets, '--quiet'],
      { env: box.env },
    );
    if (result.exitCode !== 0) throw new Error(`lifeboat capture failed:\n${result.all}`);
  } finally {
    await execa('umount', [root]);
  }
}

type Mode = 'dhcp' | 'static' | 'none';
const MODES: Mode[] = ['none', 'dhcp', 'static'];

/** The three builds, one after another (each takes both cores), started by the first test. */
let builds: Promise<Map<Mode, Promise<string>>> | undefined;
function built(mode: Mode): Promise<string> {
  builds ??= (async () => {
    const captured = captureStaticHost();
    const outs = new Map<Mode, Promise<string>>();
    let previous: Promise<unknown> = captured;
    for (const each of MODES) {
      const out = previous.then(() => build(each));
      outs.set(each, out);
      // A failed build fails its own tests, not the next mode's.
      previous = out.catch(() => undefined);
    }
    await captured;
    return outs;
  })();
  return builds.then((outs) => outs.get(mode) as Promise<string>);
}

async function build(mode: Mode): Promise<string> {
  const out = join(box.dir, `media-${mode}`);
  const result = await lifeboat(
    [
      'build',
      '--capture',
      capture,
      '--out',
      out,
      '--set',
      'output.methods=[ramdisk]',
      '--set',
      `network.mode=${mode}`,
      ...box.sets,
    ],
    { env: box.env },
  );
  if (result.exitCode !== 0) throw new Error(`lifeboat build (${mode}) failed:\n${result.all}`);
  return out;
}

interface Network {
  /** IPv4 addresses (CIDR) by interface name. */
  ipv4: Record<string, string[]>;
  /** The name servers in the rescue system's /etc/resolv.conf. */
  dns: string[];
}

/**
 * Boots the RAMDISK media of `mode` by direct kernel boot (its cmdline.txt plus `extraArgs`) and
 * reads the network the rescue system brought up. The typed commands split their markers with
 * "" so that the console's echo of them never passes for their answer.
 */
async function bootAndReadNetwork(mode: Mode, extraArgs = ''): Promise<Network> {
  const out = await built(mode);
  const append = `${readFileSync(join(out, 'cmdline.txt'), 'utf8').trim()} ${extraArgs}`.trim();
  const result = await bootInQemu({
    firmware: 'bios',
    medium: {
      kind: 'kernel',
      kernel: join(out, 'vmlinuz'),
      initrd: join(out, 'initrd.img'),
      append,
    },
    ready: /^lifeboat-rescue: network ready/,
    cpus: SIDE_BY_SIDE_CPUS,
    commands: [
      { send: 'echo "ipv4""=$(ip -json -4 address show)"', expect: /^ipv4=\[/ },
      {
        send: 'echo "dns""=$(grep -hs ^nameserver /etc/resolv.conf | tr "\\n" " ")"',
        expect: /^dns=/,
      },
    ],
    timeoutMs: 240_000,
  });
  const what = `network.mode ${mode}${extraArgs ? ` with ${extraArgs}` : ''}`;
  const tail = result.transcript.slice(-3000);
  expect(result.ready, `${what}: no ready line; the console said:\n${tail}`).toBe(true);
  const [addresses, dns] = result.answers;
  expect(addresses, `${what}: ip address did not answer:\n${tail}`).toBeDefined();
  expect(dns, `${what}: resolv.conf did not answer:\n${tail}`).toBeDefined();
  // Links without an IPv4 address come as {} (or without addr_info): they have none to list.
  const links = JSON.parse((addresses ?? '').slice('ipv4='.length)) as {
    ifname?: string;
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  return {
    ipv4: Object.fromEntries(
      links
        .filter((link) => link.ifname !== undefined && (link.addr_info ?? []).length > 0)
        .map((link) => [
          link.ifname,
          (link.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
        ]),
    ),
    dns: (dns ?? '')
      .slice('dns='.length)
      .split(/\s+/)
      .filter((word) => /^[0-9.:]+$/.test(word)),
  };
}

describeTier('boot', engineWhy ?? fixtureWhy ?? qemuMissing())(
  'network.mode in the booted rescue system (QEMU)',
  () => {
    // The first build may also make the builder image (minutes, once per machine): it is waited
    // for here, so that the tests' timeouts are for their own build and boot.
    beforeAll(async () => {
      await built(MODES[0] as Mode);
    }, 20 * 60_000);

    // Two boots at a time (it.concurrent, vitest's maxConcurrency), one virtual CPU each.
    it.concurrent('none: no interface but lo gets an address', async () => {
      const network = await bootAndReadNetwork('none');
      expect(network.ipv4).toEqual({ lo: ['127.0.0.1/8'] });
    }, 420_000);

    it.concurrent("dhcp: DHCP's address and name server, not the captured host's", async () => {
      const network = await bootAndReadNetwork('dhcp');
      expect(network.ipv4).toEqual({ lo: ['127.0.0.1/8'], [IFACE]: [DHCP_ADDRESS] });
      expect(network.dns).toContain(DHCP_DNS);
      expect(network.dns).not.toContain(STATIC_DNS);
    }, 420_000);

    it.concurrent("static: the captured host's address and name server on the interface of its name", async () => {
      const network = await bootAndReadNetwork('static');
      expect(network.ipv4).toEqual({ lo: ['127.0.0.1/8'], [IFACE]: [STATIC_ADDRESS] });
      expect(network.dns).toEqual([STATIC_DNS]);
    }, 420_000);

    it.concurrent('a kernel ip= argument overrides network.mode for one boot', async () => {
      const network = await bootAndReadNetwork('static', 'ip=dhcp');
      expect(network.ipv4).toEqual({ lo: ['127.0.0.1/8'], [IFACE]: [DHCP_ADDRESS] });
    }, 420_000);
  },
);
