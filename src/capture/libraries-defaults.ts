/**
 * Libraries programs load with dlopen(), which no DT_NEEDED names, but which a rescue system
 * still needs. Entries are sonames, or globs matched inside every library search directory
 * (relative, may contain `/`) or against the root (absolute). A name that matches nothing is
 * reported, not an error: not every host has every module.
 */
export const DEFAULT_DLOPEN_LIBS: readonly string[] = [
  // NSS modules named in nsswitch.conf: files/dns (stubs merged into libc since glibc 2.34, still
  // installed), compat, systemd, myhostname, plus whatever else the host configured (ldap, sss).
  'libnss_*.so.2',
  // glibc dlopens libgcc_s for pthread_cancel and backtraces; without it cancellation aborts.
  'libgcc_s.so.1',
  // Resolver functions (res_query...) used by some NSS modules and tools through dlopen.
  'libresolv.so.2',
  // getaddrinfo(AI_IDN) dlopens libidn2 for internationalised host names.
  'libidn2.so.0',
  // PAM modules, for login and sshd with UsePAM (Debian's default).
  'security/pam_*.so',
];
