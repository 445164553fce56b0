/* native.h - run --strict --native-tools: the build machine's cross
 * compilers in the target's root (xsysroot/hybrid.h).
 *
 * From the opened view of the target: the cross packages of its toolchain
 * packages named, and its tools that run natively (hybridtools.h: Multi-Arch:
 * foreign in its Packages stanza, as the resolved view carries it; for a
 * lock's view, which does not, read from the indexes and the answer kept
 * in CACHEDIR/hybrid/foreign-VIEWDIGEST; the same version for the build
 * architecture, or a note), the build architecture's view of them opened from the
 * same sources (verified as any view), its layer made once in the cache
 * (CACHEDIR/hybrid/VIEWDIGEST), and a per-run layer of links to the
 * target's libgcc made in the run's private directory, with the two
 * architectures' ld.so.cache and the dpkg status holding the replaced
 * toolchain packages.  The sandbox puts
 * both over the view (overlay lower layers). */
#ifndef XSYSROOT_CLI_NATIVE_H
#define XSYSROOT_CLI_NATIVE_H

#include <limits.h>

#include "setup.h"

struct native_tools {
	char layer[PATH_MAX];	/* the cached layer of the native tools */
	char links[PATH_MAX];	/* the run's links to the target's libgcc */
	const char *layers[3];	/* links, layer, NULL: for the sandbox */
};

/* The layers for s's open view, whose mount is at mount, with the run's
 * private directory tmp: 0, or -1 after saying why (naming the packages
 * looked for). */
int native_tools_prepare(struct cli_setup *s, const char *mount, const char *tmp,
			 struct native_tools *nt);
/* Remove the run's links layer (the cached layer stays). */
void native_tools_cleanup(struct native_tools *nt);
#endif
