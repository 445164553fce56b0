/* debstream.h - unpack a .deb while it downloads.
 *
 * The HTTP body goes to a sink (xs_debstream_sink) that copies it into a
 * bounded ring; a thread of the stream unpacks from that ring with
 * xs_deb_unpack_from (deb.h): the same entry handling, normalisation,
 * limits and safety rules as a .deb read from a file.  Nothing is written
 * but the store objects of the files unpacked; the .deb itself never
 * touches the disk.
 *
 * What it does not do: verify.  The bytes are unverified until the caller
 * knows the whole .deb matched its SHA-256 and size (the archive's fetch
 * computes them on the same bytes); only then does it call
 * xs_debstream_finish and get the manifest.  Until then the objects
 * written are named by nothing (content-addressed, harmless, and removed
 * by cache gc if nothing ever names them).  A reset of the sink (a retry
 * from byte 0, another mirror) stops the unpacking and drops what it made;
 * the next byte starts it afresh.
 *
 * When the unpacking fails before the body ends (a malformed or hostile
 * .deb, or one that is garbled on the way), the rest of the body is still
 * accepted and dropped, so that the digest decides which it was: the
 * caller reports a mismatch, or, for verified bytes, the unpacking error
 * finish returns.  Failures of the cache itself (-ENOSPC, -EDQUOT, -EROFS,
 * -ENOMEM) are returned by the sink's write at once, ending the transfer.
 *
 * Memory: XS_DEBSTREAM_RING bytes of ring per stream, plus what the
 * unpacker holds (deb.h).  Thread safety: one stream is driven by one
 * thread (the one that runs the transfer); its own unpacking thread is
 * internal.  Objects are committed with deferred durability, as
 * xs_deb_unpack's: call xs_store_sync before recording the manifest.
 */
#ifndef XSYSROOT_DEBSTREAM_H
#define XSYSROOT_DEBSTREAM_H
#include "xsysroot/deb.h"
#include "xsysroot/http.h"
#include "xsysroot/store.h"

#define XS_DEBSTREAM_RING (256 * 1024)

struct xs_debstream;
/* A stream unpacking into s (borrowed; outlives the stream) with lim
 * (copied; NULL: the defaults).  No thread is started before the first
 * byte. */
struct xs_debstream *xs_debstream_new(struct xs_store *s, const struct xs_limits *lim);
/* The sink to give the transfer (http.h): write and reset as said above. */
struct xs_http_sink xs_debstream_sink(struct xs_debstream *d);
/* The bytes written since the last reset are the whole .deb, verified:
 * wait for the unpacking to end and give its manifest (initialised here,
 * empty on failure, err a one-line reason as xs_deb_unpack gives).  The
 * stream is then spent: free it. */
int xs_debstream_finish(struct xs_debstream *d, struct xs_manifest *out, char *err,
			size_t errsz);
/* Stop the unpacking (if any) and free everything; NULL is ignored. */
void xs_debstream_free(struct xs_debstream *d);
#endif
