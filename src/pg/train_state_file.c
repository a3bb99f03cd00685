/*
 * train_state_file.c
 *	  The rows of a partial dlfin_train state handed to the parallel leader
 *	  through a temporary file instead of the tuple queue.
 *
 *	  A partial state's serial form holds every buffered row.  Through the
 *	  tuple queue the leader would hold the worker's whole message (the
 *	  queue reads it into one buffer), its own state's serial form and the
 *	  combined state at once: about twice the rows.  Under a Gather the
 *	  serial form's consumer is always the leader of the same query on the
 *	  same machine, so there the rows go to a file (freed as written) and
 *	  the serial form names it; the combine reads them straight into the
 *	  combined state's arrays.  Elsewhere (a plain partial aggregate, a
 *	  Citus worker) the serial form stays self-contained.
 *
 *	  Files live in base/pgsql_tmp, named after the leader's PID, the
 *	  writer's PID and a counter, so only integers make up a path.  The
 *	  leader unlinks each file as it opens it; files a failed query never
 *	  read are removed at the end of the leader's transaction, or by the
 *	  server's start (which empties pgsql_tmp) if the leader dies.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "common/file_perm.h"
#include "common/file_utils.h"	/* PG_TEMP_FILES_DIR from PostgreSQL 16 */
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/fd.h"
#include "storage/proc.h"

#include "train_state.h"

#define SPILL_DIR	"base/" PG_TEMP_FILES_DIR
/* most bytes one read or write call moves */
#define SPILL_CHUNK ((Size) 64 * 1024 * 1024)

static uint64 spill_seq = 0;
static bool spill_sweep = false;	/* the xact callback is registered */
static bool spill_pending = false;	/* files may be left: sweep at xact end */

/*
 * The path of writer's spill file seq: named after this process's parallel
 * leader (itself in the leader, whose lock group it leads), which the
 * writer and the reader share.
 */
static void
spill_path(char *path, int writer, int64 seq)
{
	int			leader = MyProc->lockGroupLeader ? MyProc->lockGroupLeader->pid : MyProcPid;

	snprintf(path, MAXPGPATH, "%s/%s%d.dlfin.%d." INT64_FORMAT,
			 SPILL_DIR, PG_TEMP_FILE_PREFIX, leader, writer, seq);
}

/*
 * Removes this backend's spill files left behind, at the end of a
 * transaction that may have left some.  Never throws: before a commit
 * (an error would still abort it) or during an abort; plain opendir, as
 * AllocateDir may error out.
 */
static void
spill_sweep_cb(XactEvent event, void *arg)
{
	char		prefix[64];
	DIR		   *dir;
	struct dirent *de;
	int			plen;

	if (!spill_pending || (event != XACT_EVENT_PRE_COMMIT &&
						   event != XACT_EVENT_ABORT &&
						   event != XACT_EVENT_PRE_PREPARE))
		return;
	spill_pending = false;
	plen = snprintf(prefix, sizeof(prefix), "%s%d.dlfin.", PG_TEMP_FILE_PREFIX, MyProcPid);
	dir = opendir(SPILL_DIR);
	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
	{
		char		path[MAXPGPATH];

		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", SPILL_DIR, de->d_name);
		if (unlink(path) < 0 && errno != ENOENT)
			elog(LOG, "could not remove file \"%s\": %m", path);
	}
	closedir(dir);
}

/* Asks for the sweep of this backend's spill files at transaction end. */
static void
spill_register_sweep(void)
{
	spill_pending = true;
	if (spill_sweep)
		return;
	RegisterXactCallback(spill_sweep_cb, NULL);
	spill_sweep = true;
}

/*
 * Called as a state is made: in a parallel query's leader, workers may be
 * writing files already, so sweep at the end of this transaction (an
 * error before any state reaches the combine would leave them otherwise).
 */
void
train_state_spill_expect(void)
{
	if (IsInParallelMode() && !IsParallelWorker())
		spill_register_sweep();
}

/*
 * Whether a serial function called with fcinfo may spill the rows: a
 * consumable state of a partial aggregate running under a Gather (the
 * query's DSA is installed then, in the workers and in the leader's own
 * part of the plan; never above the Gather).
 */
bool
train_state_spillable(FunctionCallInfo fcinfo)
{
	AggState   *agg;

	if (!train_state_consumable(fcinfo))
		return false;
	agg = (AggState *) fcinfo->context;
	if (!DO_AGGSPLIT_SERIALIZE(agg->aggsplit) || agg->ss.ps.state->es_query_dsa == NULL)
		return false;
	/* a leader participating in the scan holds the file names (its PID) */
	if (!IsParallelWorker())
		spill_register_sweep();
	return true;
}

/* Writes len bytes to fd, erroring (and removing path) on failure. */
static void
spill_write(int fd, const char *path, const char *p, Size len)
{
	while (len > 0)
	{
		ssize_t		w = write(fd, p, Min(len, SPILL_CHUNK));

		if (w <= 0)
		{
			int			save = w < 0 ? errno : ENOSPC;

			CloseTransientFile(fd);
			unlink(path);
			errno = save;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		}
		p += w;
		len -= w;
	}
}

/*
 * Writes the state's row arrays (labels, then each column: the layout of
 * the inline serial form) to a new spill file, freeing each once written,
 * and appends the file's name (writer PID, counter) to buf.
 */
void
train_state_spill_rows(TrainState *st, StringInfo buf)
{
	int64		seq = (int64) spill_seq++;
	int64		n = st->nrows;
	char		path[MAXPGPATH];
	int			fd;
	void	   *lab = st->label_val ? (void *) st->label_val : (void *) st->label_code;

	spill_path(path, MyProcPid, seq);
	fd = OpenTransientFilePerm(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, pg_file_create_mode);
	if (fd < 0 && (errno == ENOENT || errno == EEXIST))
	{
		/*
		 * The directory is made on the first use of temporary files; a file
		 * of this name is a leftover of a process that had this PID (only
		 * this writer PID and counter make the name).
		 */
		if (errno == ENOENT)
			(void) MakePGDirectory(SPILL_DIR);
		else
			(void) unlink(path);
		fd = OpenTransientFilePerm(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, pg_file_create_mode);
	}
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	spill_write(fd, path, lab, n * (st->label_val ? sizeof(double) : sizeof(uint16)));
	pfree(lab);
	st->label_val = NULL;
	st->label_code = NULL;
	for (int32 f = 0; f < st->nfeat; f++)
	{
		TrainColumn *c = &st->cols[f];
		void	   *col = c->type.sqltype == DLF_SQL_TEXT ? (void *) c->cat : (void *) c->num;

		CHECK_FOR_INTERRUPTS();
		spill_write(fd, path, col, 4 * n);
		pfree(col);
		c->cat = NULL;
		c->num = NULL;
	}
	if (CloseTransientFile(fd) != 0)
	{
		unlink(path);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
	}
	pq_sendint32(buf, MyProcPid);
	pq_sendint64(buf, seq);
}

/*
 * Reads a spilled state's file name from buf; the file itself is opened
 * by train_state_spill_open when the combine merges the state.
 */
void
train_state_spill_recv(StringInfo buf, TrainState *st)
{
	st->spill_writer = pq_getmsgint(buf, 4);
	st->spill_seq = pq_getmsgint64(buf);
	if (st->spill_writer <= 0 || st->spill_seq < 0)
		elog(ERROR, "dlfin_train: invalid serialized state");
	spill_register_sweep();
}

/*
 * Opens a spilled state's file and unlinks it at once: the open
 * descriptor keeps its data until closed, here or at the end of the
 * transaction.  Checks that it holds `need' bytes.
 */
void
train_state_spill_open(TrainState *st, Size need)
{
	char		path[MAXPGPATH];
	struct stat sb;

	spill_path(path, st->spill_writer, st->spill_seq);
	st->spill_fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (st->spill_fd < 0)
		elog(ERROR, "dlfin_train: invalid serialized state (file \"%s\": %m)", path);
	if (unlink(path) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
	if (fstat(st->spill_fd, &sb) < 0 || (Size) sb.st_size != need)
		elog(ERROR, "dlfin_train: invalid serialized state");
}

/* Reads len bytes at offset off of an open spill file into to. */
void
train_state_spill_read(const TrainState *st, Size off, void *to, Size len)
{
	char	   *p = to;

	while (len > 0)
	{
		ssize_t		r = pg_pread(st->spill_fd, p, Min(len, SPILL_CHUNK), (off_t) off);

		if (r < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read a dlfin_train partial state: %m")));
		if (r == 0)
			elog(ERROR, "dlfin_train: invalid serialized state");
		p += r;
		off += r;
		len -= r;
	}
}

/* Closes a spilled state's file once its rows are merged. */
void
train_state_spill_close(TrainState *st)
{
	if (st->spill_fd >= 0)
		CloseTransientFile(st->spill_fd);
	st->spill_fd = -1;
}
