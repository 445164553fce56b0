/* sysroot.h - the files a view generates so that it works as a sysroot, and
 * the one table of the loader's directory order.
 *
 * The loader table (xs_sysroot_loader_dirs) is the only place that says
 * where and in which order the target's ld.so looks for libraries.  Every
 * user derives from it:
 *   - etc/ld.so.conf.d/00-xsysroot.conf (xs_sysroot_ldconf_text): the
 *     directories marked conf, then the --bind directories;
 *   - etc/ld.so.cache and ldd/run's search (xs_sysroot_search_dirs): the
 *     directories marked search, the --bind directories before the loader's
 *     built-in one (usr/lib), duplicates dropped.
 * The order is the same on every architecture, only the triplet differs.
 *
 * The generated files (xs_sysroot_add_*), added to the view as synthetic
 * files whose content goes to the store (and to the lease, so that gc
 * keeps it):
 *   - etc/ld.so.conf, etc/ld.so.conf.d/00-xsysroot.conf, an empty
 *     etc/ld.so.preload and etc/ld.so.cache (written natively for the
 *     target, ldcache.h);
 *   - the dpkg database: var/lib/dpkg/status with every package given as
 *     installed (with the SHA-256 of its .deb), info/PKG.list with the
 *     paths the caller's path source gives for it, and the empty
 *     directories dpkg writes into;
 *   - the alternatives' links that maintainer scripts make
 *     (xs_sysroot_add_alternatives);
 *   - etc/passwd and etc/group copied from base-passwd's masters when the
 *     view has none (base-passwd's postinst writes them on a real system);
 *   - the host-file table (xs_sysroot_hostfiles): the files a freshly
 *     installed Debian system has but no package ships (nsswitch.conf,
 *     hosts, localtime as UTC, passwd/group without base-passwd), and
 *     stand-ins for configuration files that a package outside the view
 *     ships (locale.alias, openssl.cnf ...), whose text means what the
 *     file's absence means.  Under qemu -L a path missing from the view is
 *     read from the host; with these the guest reads the view's.  Each is
 *     added only where no package of the view has the path: a package
 *     always wins.
 * It does not decide which packages are in the view, fetch anything itself
 * (the caller's callback does), or log (only the caller's log callback,
 * at debug level).
 *
 * Errors: 0 or negative errno, with a message naming the file in err.
 * Thread safety: the functions keep no state; adding files to one view from
 * two threads at once is the view's business (view.h: safe), but the caller
 * serialises regenerations of the same file.
 */
#ifndef XSYSROOT_SYSROOT_H
#define XSYSROOT_SYSROOT_H
#include <stdbool.h>
#include <stddef.h>

#include "xsysroot/arch.h"
#include "xsysroot/cachemgr.h"
#include "xsysroot/ldcache.h"
#include "xsysroot/store.h"
#include "xsysroot/util.h"
#include "xsysroot/view.h"

/* ---- the loader directory table ------------------------------------------ */

#define XS_SYSROOT_NLDIRS 5

struct xs_sysroot_ldir {
	char path[96]; /* as the view shows it, no leading '/': "usr/lib/aarch64-linux-gnu" */
	bool conf;     /* listed in ld.so.conf.d */
	bool search;   /* a directory of its own (false: another name of one, merged /usr) */
	bool builtin;  /* the loader's built-in directory: searched after ld.so.conf's */
};

/* The loader's directories for triplet, in search order: the number filled,
 * or -ENAMETOOLONG for an absurd triplet. */
int xs_sysroot_loader_dirs(const char *triplet, struct xs_sysroot_ldir out[XS_SYSROOT_NLDIRS]);

/* A --bind overlay: the host directory and where the view shows it. */
struct xs_sysroot_bind {
	const char *host, *path;
};

/* The text of etc/ld.so.conf.d/00-xsysroot.conf, into out (initialised
 * here). */
int xs_sysroot_ldconf_text(const char *triplet, const struct xs_sysroot_bind *binds,
			   size_t nbinds, struct xs_buf *out);
/* The directories searched, in order, as the view shows them: a
 * NULL-terminated array of owned strings (xs_sysroot_dirs_free); *n gets
 * the count when n is not NULL. */
char **xs_sysroot_search_dirs(const char *triplet, const struct xs_sysroot_bind *binds,
			      size_t nbinds, size_t *n);
void xs_sysroot_dirs_free(char **dirs);

/* Lists the non-directory names of a directory of the view (the shape of
 * xs_view_list_leaves). */
typedef int (*xs_sysroot_list_fn)(void *ud, const char *dir,
				  int (*cb)(const char *name, void *cbud), void *cbud);
/* The lister of a host tree (ud: its root path): the names of ROOT/dir
 * that are regular files or links to one, but for those glibc's
 * _dl_is_dso takes that do not start as ELF does (a linker script named
 * libc.so; ldconfig skips them too).  A missing directory lists nothing. */
int xs_sysroot_list_host(void *ud, const char *dir, int (*cb)(const char *name, void *cbud),
			 void *cbud);
/* Loader entries of the directories, an earlier directory first, each with
 * flags (0: the cache's architecture's): appended to l, whose strings it
 * owns.  Within a directory, the entries ldconfig's search_dir
 * (elf/ldconfig.c) would add, from the names alone (a lazy view has no
 * content to read a SONAME from): the names glibc's _dl_is_dso takes
 * (lib*.so*, ld-*.so*, ld.so.*, ld64.so.*, no prelink temporaries), each
 * keyed by itself and valued "/DIR/NAME", but for a name whose soname is
 * another name of the directory as Debian lays libraries out:
 *  - libfoo.so.1.2.3 beside libfoo.so.1 or libfoo.so.1.2 (the real file),
 *    unless a longer name extends it (libbz2.so.1.0 beside libbz2.so.1 and
 *    libbz2.so.1.0.4 stays: its SONAME is libbz2.so.1.0; libbz2.so.1, a
 *    compatibility link, stays too where ldconfig has no entry);
 *  - libfoo-2.31.so beside libfoo.so.N, ld-2.31.so beside an ld-*.so.N
 *    (glibc's real files before 2.34);
 *  - libbfd.so beside libbfd-2.40-system.so and no libbfd.so.N (a link
 *    to the real file, whose SONAME is not libbfd.so*).
 * So libbfd-2.40-arm64.so (its SONAME is its name) is an entry, and so is
 * the linker's link libfoo.so -> libfoo.so.1 (ldconfig keys a link named
 * *.so by its own name when that is a prefix of the target's soname).
 * libc.so, glibc's linker script, is never an entry.  Limits: another
 * linker script named lib*.so (libncurses.so, amd64's libm.so) is listed
 * when the lister cannot tell (ldconfig skips what is not ELF); a SONAME unrelated to the names of the directory
 * is not seen; glibc-hwcaps subdirectories are not searched.  ldconfig
 * keeps a key's entries of later directories too; xs_ldcache_build drops
 * them (ld.so takes the first it accepts and never reaches them). */
struct xs_sysroot_ldlist {
	struct xs_ldcache_entry *e;
	size_t n, cap;
};
void xs_sysroot_ldlist_add(struct xs_sysroot_ldlist *l, char *const *dirs, uint32_t flags,
			   xs_sysroot_list_fn list, void *ud);
void xs_sysroot_ldlist_free(struct xs_sysroot_ldlist *l);
/* ld.so.cache for arch from the libraries the directories hold (the
 * entries of xs_sysroot_ldlist_add), an earlier directory winning: into out (initialised
 * here), *nlibs the entries given to the writer. */
int xs_sysroot_ldcache(const struct xs_arch *arch, char *const *dirs, xs_sysroot_list_fn list,
		       void *ud, struct xs_buf *out, size_t *nlibs);

/* ---- the generated files ------------------------------------------------- */

/* Where the generated files go.  Borrowed, not owned. */
struct xs_sysroot {
	const struct xs_arch *arch;
	struct xs_store *store;
	struct xs_view *view;
	struct xs_lease *lease;
	const char *cache_dir; /* in messages, and held (xs_cache_hold) while storing */
	const struct xs_sysroot_bind *binds;
	size_t nbinds;
	xs_log_fn log;
	void *log_ud;
};

/* Put bytes into the store; sha256 receives their name. */
int xs_sysroot_store_bytes(struct xs_store *store, const void *p, size_t n, char sha256[65]);
/* A synthetic file at path (normalised, relative), mode 0644. */
int xs_sysroot_add_file(const struct xs_sysroot *s, const char *path, const void *p, size_t n,
			char *err, size_t errsz);
/* etc/ld.so.conf, its .d file, ld.so.preload and ld.so.cache from what the
 * view holds now (again after a --bind directory changed). */
int xs_sysroot_add_loader_files(const struct xs_sysroot *s, char *err, size_t errsz);

/* A package of the dpkg database. */
struct xs_sysroot_pkg {
	const char *name, *version, *arch, *sha256;
};
/* Append package p's stanza of var/lib/dpkg/status to b. */
int xs_sysroot_dpkg_stanza(struct xs_buf *b, const struct xs_sysroot_pkg *p);
/* Calls cb for every path (relative, as Contents gives it) of package pkg. */
typedef void (*xs_sysroot_paths_fn)(void *ud, const char *pkg,
				    int (*cb)(const char *path, void *cbud), void *cbud);
int xs_sysroot_add_dpkg_files(const struct xs_sysroot *s, const struct xs_sysroot_pkg *pkgs,
			      size_t n, xs_sysroot_paths_fn paths, void *ud, char *err,
			      size_t errsz);

/* etc/passwd and etc/group from base-passwd (version: in messages), unless
 * the view has them: fetch(ud) is called first (it fetches base-passwd
 * into the view, 0 or negative errno with err set); the masters must then
 * be ready regular files of at most 1 MiB. */
int xs_sysroot_add_account_files(const struct xs_sysroot *s, const char *version,
				 int (*fetch)(void *ud, char *err, size_t errsz), void *ud,
				 char *err, size_t errsz);

/* The alternatives that Debian's maintainer scripts make with
 * update-alternatives (awk and its nawk, cc, c89, c99, c++, cpp; the
 * table in sysroot.c, from the postinst scripts of gcc, g++, cpp, gawk and
 * mawk): for each whose provider the view has and whose link no package
 * ships, the links LINK -> /etc/alternatives/NAME -> the provider of
 * highest priority (a slave's too, where its target is in the view), and
 * var/lib/dpkg/alternatives/NAME as update-alternatives writes it (a
 * generated file; the links, being symbolic links, carry no xattr).  Call
 * it after the dpkg files; *added (may be NULL) gets the number made. */
int xs_sysroot_add_alternatives(const struct xs_sysroot *s, size_t *added, char *err,
				size_t errsz);

/* One file of the host-file table. */
struct xs_sysroot_hostfile {
	const char *path; /* as the view shows it: "etc/hosts" */
	const char *data; /* its bytes (not NUL-terminated for binary files) */
	size_t size;
	bool standin;	  /* true: a package outside the view ships it; the text
			   * means what its absence means */
	const char *why;  /* who writes or ships it on Debian, for messages */
};
/* The table, in the order the files are added; *n the number of entries.
 * Static: never freed. */
const struct xs_sysroot_hostfile *xs_sysroot_hostfiles(size_t *n);
/* Every file of the table whose path the view does not have (resolve
 * without following symlinks: a package's file, link or pending path
 * wins).  Call it last, after the account files; *added (may be NULL) gets
 * the number added. */
int xs_sysroot_add_host_files(const struct xs_sysroot *s, size_t *added, char *err,
			      size_t errsz);
#endif
