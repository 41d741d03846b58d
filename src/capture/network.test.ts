import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpRoots, makeRoot } from '../../test/support/capture-roots.js';
import { RootView } from './fs-root.js';
import { captureNetwork } from './network.js';
import { netmaskToPrefix, normalizeDnsServer, toCidr } from './network-addr.js';
import { parseResolvConf, readResolvConf } from './network-dns.js';
import { parseInterfacesFile } from './network-ifupdown.js';
import { parseIpAddresses, parseIpRoutes } from './network-live.js';

cleanUpRoots();

describe('address notation', () => {
  it('converts netmasks to prefix lengths', () => {
    expect(netmaskToPrefix('255.255.255.0')).toBe(24);
    expect(netmaskToPrefix('255.255.252.0')).toBe(22);
    expect(netmaskToPrefix('255.255.255.255')).toBe(32);
    expect(netmaskToPrefix('0.0.0.0')).toBe(0);
    expect(netmaskToPrefix('255.0.255.0')).toBeUndefined();
    expect(netmaskToPrefix('24')).toBeUndefined();
  });

  it('writes addresses in CIDR', () => {
    expect(toCidr('192.0.2.10', '255.255.255.0')).toBe('192.0.2.10/24');
    expect(toCidr('192.0.2.10', '24')).toBe('192.0.2.10/24');
    expect(toCidr('192.0.2.10/26', '255.255.255.0')).toBe('192.0.2.10/26');
    expect(toCidr('192.0.2.10')).toBe('192.0.2.10/32');
    expect(toCidr('2001:DB8::10', '64')).toBe('2001:db8::10/64');
    expect(toCidr('192.0.2.10/33')).toBeUndefined();
    expect(toCidr('192.0.2.10', '255.0.255.0')).toBeUndefined();
    expect(toCidr('eth0')).toBeUndefined();
  });

  it('reduces systemd DNS= syntax to the address', () => {
    expect(normalizeDnsServer('1.1.1.1:53%eth0#cloudflare-dns.com')).toBe('1.1.1.1');
    expect(normalizeDnsServer('[2606:4700::1111]:53')).toBe('2606:4700::1111');
    expect(normalizeDnsServer('9.9.9.9')).toBe('9.9.9.9');
    expect(normalizeDnsServer('dns.example')).toBeUndefined();
  });
});

describe('ip -json', () => {
  const addresses = JSON.stringify([
    {
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP'],
      link_type: 'loopback',
      addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
    },
    {
      ifname: 'eth0',
      flags: ['BROADCAST', 'UP'],
      mtu: 1500,
      link_type: 'ether',
      address: '52:54:00:AA:BB:CC',
      addr_info: [
        { family: 'inet', local: '192.0.2.10', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: '2001:db8::10', prefixlen: 64, scope: 'global' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
    {
      ifname: 'eth1',
      mtu: 9000,
      link_type: 'ether',
      address: '02:00:00:00:00:01',
      permaddr: '52:54:00:00:00:02',
      addr_info: [
        { family: 'inet', local: '198.51.100.7', prefixlen: 24, scope: 'global', dynamic: true },
      ],
    },
    { ifname: 'tun0', link_type: 'none', flags: ['POINTOPOINT'], addr_info: [] },
  ]);

  it('keeps static addresses, turns dynamic ones into dhcp, skips loopback', () => {
    expect(parseIpAddresses(addresses)).toEqual([
      {
        name: 'eth0',
        mac: '52:54:00:aa:bb:cc',
        addresses: ['192.0.2.10/24', '2001:db8::10/64'],
        dhcp: false,
        mtu: 1500,
        driver: null,
      },
      {
        name: 'eth1',
        mac: '52:54:00:00:00:02',
        addresses: [],
        dhcp: true,
        mtu: 9000,
        driver: null,
      },
      { name: 'tun0', mac: null, addresses: [], dhcp: false, mtu: null, driver: null },
    ]);
  });

  it('keeps configured unicast routes', () => {
    const routes = JSON.stringify([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', protocol: 'dhcp', flags: [] },
      { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' },
      { dst: '203.0.113.5', gateway: '192.0.2.254', dev: 'eth0', flags: [] },
      { type: 'blackhole', dst: '10.66.0.0/16', flags: [] },
      {
        dst: '10.0.0.0/8',
        nexthops: [
          { gateway: '192.0.2.2', dev: 'eth0' },
          { gateway: '192.0.2.3', dev: 'eth0' },
        ],
      },
    ]);
    expect(parseIpRoutes(routes)).toEqual([
      { destination: 'default', gateway: '192.0.2.1', device: 'eth0' },
      { destination: '203.0.113.5/32', gateway: '192.0.2.254', device: 'eth0' },
      { destination: '10.0.0.0/8', gateway: '192.0.2.2', device: 'eth0' },
      { destination: '10.0.0.0/8', gateway: '192.0.2.3', device: 'eth0' },
    ]);
  });

  it('rejects output that is not iproute2 JSON', () => {
    expect(() => parseIpAddresses('{"not": "an array"}')).toThrow();
    expect(() => parseIpRoutes('Usage: ip route')).toThrow();
  });
});

describe('ifupdown', () => {
  it('parses stanzas, options and includes', () => {
    const items = parseInterfacesFile(
      'source /etc/network/interfaces.d/*\nauto eth0\niface eth0 inet static\n  address 192.0.2.10\n  netmask \\\n 255.255.255.0\n',
    );
    expect(items).toEqual([
      { kind: 'source', pattern: '/etc/network/interfaces.d/*' },
      {
        kind: 'iface',
        stanza: {
          name: 'eth0',
          family: 'inet',
          method: 'static',
          options: [
            { key: 'address', value: '192.0.2.10' },
            { key: 'netmask', value: '255.255.255.0' },
          ],
        },
      },
    ]);
    expect(() => parseInterfacesFile('address 192.0.2.10\n')).toThrow(/outside an iface/);
  });

  it('reads /etc/network/interfaces with its source and source-directory includes', async () => {
    const view = await makeRoot({
      '/etc/network/interfaces': [
        '# The loopback network interface',
        'auto lo',
        'iface lo inet loopback',
        '',
        'source /etc/network/interfaces.d/*',
        'source-directory extra.d',
        'source interfaces',
      ].join('\n'),
      '/etc/network/interfaces.d/eth0': [
        'auto eth0',
        'iface eth0 inet static',
        '    address 192.0.2.10',
        '    netmask 255.255.255.0',
        '    gateway 192.0.2.1',
        '    dns-nameservers 192.0.2.53 192.0.2.54',
        '    dns-search example.com corp.example.com',
        '    mtu 9000',
        '    hwaddress ether 52:54:00:AA:BB:CC',
        'iface eth0 inet6 static',
        '    address 2001:db8::10',
        '    netmask 64',
        '    gateway 2001:db8::1',
      ].join('\n'),
      '/etc/network/extra.d/eth1': 'allow-hotplug eth1\niface eth1 inet dhcp\n',
      // run-parts ignores names with dots (editor and dpkg leftovers).
      '/etc/network/extra.d/eth1.dpkg-old': 'iface eth9 inet dhcp\n',
      '/etc/network/extra.d/broken': 'iface eth2\n',
    });
    const { section, warnings } = await captureNetwork(view, { live: false });
    expect(section).toEqual({
      source: 'config',
      configFiles: [
        '/etc/network/extra.d/eth1',
        '/etc/network/interfaces',
        '/etc/network/interfaces.d/eth0',
      ],
      interfaces: [
        {
          name: 'eth0',
          mac: '52:54:00:aa:bb:cc',
          addresses: ['192.0.2.10/24', '2001:db8::10/64'],
          dhcp: false,
          mtu: 9000,
          driver: null,
        },
        { name: 'eth1', mac: null, addresses: [], dhcp: true, mtu: null, driver: null },
      ],
      routes: [
        { destination: 'default', gateway: '192.0.2.1', device: 'eth0' },
        { destination: 'default', gateway: '2001:db8::1', device: 'eth0' },
      ],
      dns: { servers: ['192.0.2.53', '192.0.2.54'], search: ['example.com', 'corp.example.com'] },
    });
    expect(warnings).toEqual([
      expect.stringMatching(/^\/etc\/network\/extra\.d\/broken: cannot be parsed/),
    ]);
  });
});

describe('systemd-networkd', () => {
  it('reads .network files, the first file per interface winning', async () => {
    const view = await makeRoot({
      '/etc/systemd/network/10-uplink.network': [
        '[Match]',
        'Name=enp1s0',
        '',
        '[Link]',
        'MTUBytes=9000',
        '',
        '[Network]',
        'Address=192.0.2.10/24',
        'Gateway=192.0.2.1',
        'DNS=192.0.2.53 1.1.1.1#cloudflare-dns.com',
        'Domains=example.com ~corp.example',
        '',
        '[Address]',
        'Address=2001:db8::10/64',
        '',
        '[Route]',
        'Destination=10.0.0.0/8',
        'Gateway=192.0.2.254',
        '',
        '[Route]',
        'Gateway=_dhcp4',
      ].join('\n'),
      '/etc/systemd/network/20-uplink-too.network':
        '[Match]\nName=enp1s0\n[Network]\nAddress=203.0.113.9/24\n',
      '/etc/systemd/network/30-by-mac.network':
        '[Match]\nMACAddress=52:54:00:AA:BB:CC\n[Network]\nDHCP=ipv4\n',
      '/etc/systemd/network/40-broken.network': '[Network\nAddress=1.2.3.4/8\n',
    });
    const { section, warnings } = await captureNetwork(view, { live: false });
    expect(section.interfaces).toEqual([
      {
        name: '30-by-mac',
        mac: '52:54:00:aa:bb:cc',
        addresses: [],
        dhcp: true,
        mtu: null,
        driver: null,
      },
      {
        name: 'enp1s0',
        mac: null,
        addresses: ['192.0.2.10/24', '2001:db8::10/64'],
        dhcp: false,
        mtu: 9000,
        driver: null,
      },
    ]);
    expect(section.routes).toEqual([
      { destination: 'default', gateway: '192.0.2.1', device: 'enp1s0' },
      { destination: '10.0.0.0/8', gateway: '192.0.2.254', device: 'enp1s0' },
    ]);
    expect(section.dns).toEqual({ servers: ['192.0.2.53', '1.1.1.1'], search: ['example.com'] });
    expect(warnings).toEqual([expect.stringContaining('/etc/systemd/network/40-broken.network')]);
    expect(section.configFiles).not.toContain('/etc/systemd/network/40-broken.network');
  });
});

describe('netplan', () => {
  it('reads ethernets and bonds, routes, gateways and nameservers', async () => {
    const view = await makeRoot({
      '/etc/netplan/50-cloud-init.yaml': `
network:
  version: 2
  ethernets:
    uplink:
      match:
        macaddress: "52:54:00:AA:BB:CC"
      set-name: ens3
      addresses:
        - 192.0.2.10/24
        - "2001:db8::10/64":
            label: ens3:v6
      routes:
        - to: default
          via: 192.0.2.1
        - to: 10.0.0.0/8
          via: 192.0.2.254
      gateway6: 2001:db8::1
      mtu: 9000
      nameservers:
        addresses: [192.0.2.53, "2001:db8::53"]
        search: [example.com]
    ens4:
      dhcp4: yes
  bonds:
    bond0:
      interfaces: [ens5, ens6]
      addresses: [198.51.100.5/24]
`,
      // A later file adds to the same interface, as netplan merges files in name order.
      '/etc/netplan/60-extra.yaml':
        'network:\n  ethernets:\n    ens4:\n      dhcp6: true\n      addresses: [203.0.113.4/24]\n',
      '/etc/netplan/70-broken.yaml': 'network:\n  ethernets: [\n',
    });
    const { section, warnings } = await captureNetwork(view, { live: false });
    expect(section.interfaces).toEqual([
      {
        name: 'bond0',
        mac: null,
        addresses: ['198.51.100.5/24'],
        dhcp: false,
        mtu: null,
        driver: null,
      },
      {
        name: 'ens3',
        mac: '52:54:00:aa:bb:cc',
        addresses: ['192.0.2.10/24', '2001:db8::10/64'],
        dhcp: false,
        mtu: 9000,
        driver: null,
      },
      {
        name: 'ens4',
        mac: null,
        addresses: ['203.0.113.4/24'],
        dhcp: true,
        mtu: null,
        driver: null,
      },
    ]);
    expect(section.routes).toEqual([
      { destination: 'default', gateway: '192.0.2.1', device: 'ens3' },
      { destination: 'default', gateway: '2001:db8::1', device: 'ens3' },
      { destination: '10.0.0.0/8', gateway: '192.0.2.254', device: 'ens3' },
    ]);
    expect(section.dns).toEqual({
      servers: ['192.0.2.53', '2001:db8::53'],
      search: ['example.com'],
    });
    expect(section.configFiles).toEqual([
      '/etc/netplan/50-cloud-init.yaml',
      '/etc/netplan/60-extra.yaml',
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(/^\/etc\/netplan\/70-broken\.yaml: cannot be parsed/),
    ]);
  });
});

describe('NetworkManager keyfiles', () => {
  it('reads wired profiles and leaves wifi out', async () => {
    const view = await makeRoot({
      '/etc/NetworkManager/system-connections/Wired.nmconnection': [
        '[connection]',
        'id=Wired connection 1',
        'uuid=5fa3c1d2-0000-4000-8000-000000000001',
        'type=ethernet',
        'interface-name=eno1',
        '',
        '[ethernet]',
        'mac-address=52:54:00:AA:BB:CC',
        'mtu=1500',
        '',
        '[ipv4]',
        'method=manual',
        'address1=192.0.2.10/24,192.0.2.1',
        'dns=192.0.2.53;192.0.2.54;',
        'dns-search=example.com;',
        'route1=10.0.0.0/8,192.0.2.254',
        '',
        '[ipv6]',
        'method=auto',
      ].join('\n'),
      '/etc/NetworkManager/system-connections/Cafe.nmconnection':
        '[connection]\nid=Cafe\ntype=wifi\ninterface-name=wlan0\n[ipv4]\nmethod=auto\n',
    });
    const { section, warnings } = await captureNetwork(view, { live: false });
    expect(section.interfaces).toEqual([
      {
        name: 'eno1',
        mac: '52:54:00:aa:bb:cc',
        addresses: ['192.0.2.10/24'],
        dhcp: true,
        mtu: 1500,
        driver: null,
      },
    ]);
    expect(section.routes).toEqual([
      { destination: 'default', gateway: '192.0.2.1', device: 'eno1' },
      { destination: '10.0.0.0/8', gateway: '192.0.2.254', device: 'eno1' },
    ]);
    expect(section.dns).toEqual({ servers: ['192.0.2.53', '192.0.2.54'], search: ['example.com'] });
    expect(warnings).toEqual([]);
  });
});

describe('DNS', () => {
  it('parses resolv.conf: nameservers in order, the last search line winning', () => {
    expect(
      parseResolvConf(
        '# generated\nnameserver 192.0.2.53\ndomain old.example\nnameserver 2001:db8::53\nsearch a.example b.example\noptions edns0\n',
      ),
    ).toEqual({ servers: ['192.0.2.53', '2001:db8::53'], search: ['a.example', 'b.example'] });
  });

  it('follows an absolute /etc/resolv.conf symlink inside the root, not on the host', async () => {
    const view = await makeRoot({
      '/etc/resolv.conf': { link: '/var/lib/lifeboat-test-dns/resolv.conf' },
      '/var/lib/lifeboat-test-dns/resolv.conf': 'nameserver 198.51.100.53\nsearch root.example\n',
      '/etc/network/interfaces': 'iface eth0 inet dhcp\n',
    });
    const { section } = await captureNetwork(view, { live: false });
    expect(section.dns).toEqual({ servers: ['198.51.100.53'], search: ['root.example'] });
    expect(section.configFiles).toContain('/etc/resolv.conf');
  });

  it('looks behind the systemd-resolved stub only on the live host', async () => {
    const view = await makeRoot({
      '/etc/resolv.conf': { link: '../run/systemd/resolve/stub-resolv.conf' },
      '/run/systemd/resolve/stub-resolv.conf': 'nameserver 127.0.0.53\nsearch example.com\n',
      '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.53\nsearch example.com\n',
    });
    const live = await readResolvConf(view, true);
    expect(live.fragment.dns).toEqual({ servers: ['192.0.2.53'], search: ['example.com'] });
    expect(live.fragment.files).toEqual(['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']);
    const root = await readResolvConf(view, false);
    expect(root.fragment.dns.servers).toEqual([]);
    expect(root.stubOnly).toBe(true);
  });

  it('warns when static interfaces have no DNS server', async () => {
    const view = await makeRoot({
      '/etc/resolv.conf': 'nameserver 127.0.0.53\n',
      '/etc/network/interfaces': 'iface eth0 inet static\n address 192.0.2.10/24\n',
    });
    const { warnings } = await captureNetwork(view, { live: false });
    expect(warnings).toEqual([expect.stringContaining('no DNS servers found')]);
  });
});

describe('captureNetwork live', () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'lifeboat-fake-ip-'));
    // A stand-in for iproute2 that prints canned JSON for the three commands the capture runs.
    await writeFile(
      join(bin, 'ip'),
      `#!/bin/sh
case "$*" in
  "-json address show") echo '[{"ifname":"lo","flags":["LOOPBACK"],"link_type":"loopback","addr_info":[]},{"ifname":"eth0","mtu":1500,"link_type":"ether","address":"52:54:00:aa:bb:cc","addr_info":[{"family":"inet","local":"192.0.2.10","prefixlen":24,"scope":"global"}]}]' ;;
  "-json route show") echo '[{"dst":"default","gateway":"192.0.2.1","dev":"eth0"},{"dst":"192.0.2.0/24","dev":"eth0","protocol":"kernel"}]' ;;
  "-json -6 route show") echo '[]' ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
`,
    );
    await chmod(join(bin, 'ip'), 0o755);
  });
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  it('asks ip and reads the driver link from /sys', async () => {
    const view = await makeRoot({
      '/sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0': { dir: true },
      '/sys/bus/virtio/drivers/virtio_net': { dir: true },
      '/sys/class/net/eth0': { link: '../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0' },
      '/sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0/device': { link: '../../../virtio0' },
      '/sys/devices/pci0000:00/0000:00:03.0/virtio0/driver': {
        link: '../../../../bus/virtio/drivers/virtio_net',
      },
      '/etc/resolv.conf': 'nameserver 192.0.2.53\n',
      // Ignored when live: the kernel's view wins over configuration files.
      '/etc/network/interfaces': 'iface eth9 inet dhcp\n',
    });
    const { section, warnings } = await captureNetwork(view, {
      live: true,
      ipCommand: join(bin, 'ip'),
    });
    expect(section).toEqual({
      source: 'live',
      configFiles: ['/etc/resolv.conf'],
      interfaces: [
        {
          name: 'eth0',
          mac: '52:54:00:aa:bb:cc',
          addresses: ['192.0.2.10/24'],
          dhcp: false,
          mtu: 1500,
          driver: 'virtio_net',
        },
      ],
      routes: [{ destination: 'default', gateway: '192.0.2.1', device: 'eth0' }],
      dns: { servers: ['192.0.2.53'], search: [] },
    });
    expect(warnings).toEqual([]);
  });

  it('falls back to the configuration files when ip is missing', async () => {
    const view = await makeRoot({ '/etc/network/interfaces': 'iface eth9 inet dhcp\n' });
    const { section, warnings } = await captureNetwork(view, {
      live: true,
      ipCommand: join(bin, 'no-such-ip'),
    });
    expect(section.source).toBe('config');
    expect(section.interfaces.map((i) => i.name)).toEqual(['eth9']);
    expect(warnings).toEqual([expect.stringContaining('`ip -json` could not be used')]);
  });

  it('gives byte-identical results for an unchanged root', async () => {
    const view = await makeRoot({
      '/etc/netplan/01.yaml':
        'network:\n  ethernets:\n    b: {dhcp4: true}\n    a: {addresses: [192.0.2.1/24]}\n',
      '/etc/network/interfaces': 'iface c inet dhcp\n',
    });
    const first = await captureNetwork(view, { live: false });
    const second = await captureNetwork(new RootView(view.root), { live: false });
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(first.section.interfaces.map((i) => i.name)).toEqual(['a', 'b', 'c']);
  });
});
