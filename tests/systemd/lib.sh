# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Boot a real systemd as PID 1 of a throw-away systemd-nspawn container, on a
# host whose own PID 1 is not systemd, and drive it from a test script.
# Follows /work/shared/recipes/real-systemd-in-tests.md.
#
#   . tests/systemd/lib.sh
#   sd_boot demo                        # = sd_prepare demo + sd_start
#   sd_install_bin build/examples/hello # -> /usr/local/bin/hello
#   sd_install_lib build/src/libsfcgi.so.0
#   sd_write_file /etc/systemd/system/x.service <<'EOF' ... EOF
#   sd_run systemctl daemon-reload
#   some-host-client "$(sd_path /run/x.sock)"
#   sd_journal x.service                # on failure
#   (sd_teardown runs from the EXIT trap sd_start installs)
#
# Functions
#   sd_prepare NAME       overlay root (lower: host /, upper: tmpfs) in a tmp dir;
#                         files can be installed into it before booting
#   sd_start              boot it; wait for `systemctl is-system-running --wait`
#   sd_boot NAME          sd_prepare + sd_start
#   sd_run CMD...         run CMD inside (nsenter -t $SD_LEADER -a)
#   sd_path PATH          host path of PATH inside (/proc/$SD_LEADER/root/PATH);
#                         unix sockets included
#   sd_install_file SRC DEST [MODE]   copy a host file to DEST inside
#   sd_write_file DEST [MODE]         write stdin to DEST inside
#   sd_install_bin SRC [DEST]         SRC -> /usr/local/bin/NAME (default)
#   sd_install_lib SRC...             -> /usr/local/lib, then ldconfig inside
#   sd_host_path_visible PATH         true if PATH on the host is seen inside
#                                     at the same path (not under a submount)
#   sd_journal [UNIT]     dump a unit's journal (the whole boot without UNIT)
#   sd_teardown           poweroff, kill leftovers, remove cgroups, unmount,
#                         delete; idempotent, safe in an EXIT trap
#   sd_sweep              clean up after runs whose owner died (see cleanup.sh)
#
# Variables after sd_start: SD_NAME (machine name, NAME-PID), SD_ROOT, SD_TMP,
# SD_LEADER (container PID 1 as seen from the host), SD_NSPAWN_PID.
# Tunables: SD_BOOT_TIMEOUT (60 s), SD_STOP_TIMEOUT (10 s), SD_QUIET=1,
# SD_CONSOLE_LOG=FILE (keep the container's console output there; default: in
# the tmp dir, shown when the boot fails, deleted at teardown), SD_NSPAWN_ARGS
# (an array of more systemd-nspawn options, such as --bind=DIR).
#
# One container per shell: the state lives in global SD_* variables, so call
# sd_boot from the test's main shell, not from a $(...) or ( ... ) subshell.
#
# Clean-up when the test dies: sd_start installs `trap sd_teardown EXIT` and
# turns INT/TERM/HUP into exit (unless the caller already set an EXIT trap: then
# the caller's trap must call sd_teardown). For SIGKILL, sd_start also leaves a
# guardian (setsid, outside the test's process group) blocked on a lock the test
# shell holds; when the last holder of that lock dies without tearing down, the
# guardian runs sd_teardown from the state file. tests/systemd/cleanup.sh does
# the same by hand for anything left over.

# shellcheck disable=SC2086  # set -- $s: splitting /proc/PID/stat on purpose
SD_LIB=$(readlink -f "${BASH_SOURCE[0]}")
SD_PREFIX=sfcgi-sd-          # names of tmp dirs, mounts and cgroups
[ -n "${SD_NSPAWN_ARGS+x}" ] || SD_NSPAWN_ARGS=() # more systemd-nspawn options (--bind=...)

sd__log() { [ "${SD_QUIET:-0}" = 1 ] || printf 'sd: %s\n' "$*" >&2; }
sd__err() { printf 'sd: ERROR: %s\n' "$*" >&2; }
sd__now() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }   # ms

# sd__starttime PID: field 22 of /proc/PID/stat, to detect PID reuse.
sd__starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

# sd__alive PID [STARTTIME]: running (not a zombie) and, if given, the same process.
sd__alive() {
	local s
	[ -n "${1:-}" ] || return 1
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- "$1" "${2:-}" $s
	[ "$3" != Z ] && [ "$3" != X ] || return 1
	[ -z "$2" ] || [ "$2" = "${22}" ]
}

sd__save_state() {
	[ -n "${SD_TMP:-}" ] && [ -d "$SD_TMP" ] || return 0
	declare -p SD_NAME SD_TMP SD_OVL SD_ROOT SD_CGROUPS SD_NSPAWN_PID SD_NSPAWN_START \
		SD_LEADER SD_LEADER_START SD_MADE_DIRS SD_IMAGE_LOCK SD_PIDNS >"$SD_TMP/state.new" 2>/dev/null && mv -f "$SD_TMP/state.new" "$SD_TMP/state"
}

sd__require_root() {
	if [ "$(id -u)" != 0 ]; then
		sd__err "must run as root (mounts, cgroups, systemd-nspawn)"
		return 1
	fi
}

sd__ensure_nspawn() {
	command -v systemd-nspawn >/dev/null && command -v nsenter >/dev/null && return 0
	sd__log "installing systemd-container"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q systemd-container >&2; then
		sd__err "apt-get install -y systemd-container failed"
		return 1
	fi
	command -v systemd-nspawn >/dev/null
}

# The cgroup hierarchies to put the container in, as "MOUNTPOINT PARENTPATH"
# lines: unified (cgroup2 on /sys/fs/cgroup), hybrid (name=systemd v1 on
# /sys/fs/cgroup/systemd + cgroup2 on /sys/fs/cgroup/unified) or legacy.
# The parent is the calling process's own cgroup in that hierarchy.
sd__cgroup_hierarchies() {
	local self_v2 self_sd
	self_v2=$(sed -n 's/^0:://p' /proc/self/cgroup)
	self_sd=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		echo "/sys/fs/cgroup ${self_v2:-/}"
		return
	fi
	if [ -e /sys/fs/cgroup/systemd/cgroup.procs ]; then
		echo "/sys/fs/cgroup/systemd ${self_sd:-/}"
	fi
	if [ -e /sys/fs/cgroup/unified/cgroup.procs ]; then
		echo "/sys/fs/cgroup/unified ${self_v2:-/}"
	fi
}

sd_prepare() {
	local name=${1:?usage: sd_prepare NAME} d
	sd__require_root || return 1
	if [ -n "${SD_TMP:-}" ]; then
		sd__err "a container ($SD_NAME) is already set up in this shell"
		return 1
	fi
	if ! [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9-]*$ ]]; then
		sd__err "bad NAME '$name' (letters, digits, '-')"
		return 1
	fi
	SD_NAME="${name:0:40}-$$"
	SD_CGROUPS=() SD_NSPAWN_PID='' SD_NSPAWN_START='' SD_LEADER='' SD_LEADER_START=''
	SD_IMAGE_LOCK='' SD_PIDNS=
	# Host directories mount(8) and systemd-nspawn create as a side effect,
	# deepest first; those that don't exist yet are removed again at teardown.
	SD_MADE_DIRS=()
	for d in /run/mount /run/systemd/nspawn/propagate /run/systemd/nspawn/locks \
		/run/systemd/nspawn /run/systemd; do
		[ -e "$d" ] || SD_MADE_DIRS+=("$d")
	done
	SD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$SD_PREFIX$SD_NAME.XXXXXX") || return 1
	SD_OVL=$SD_TMP/ovl SD_ROOT=$SD_TMP/root
	SD_CONSOLE=${SD_CONSOLE_LOG:-$SD_TMP/console.log}
	mkdir "$SD_OVL" "$SD_ROOT"
	sd__save_state
	if ! mount -t tmpfs -o mode=755,size=4G "$SD_PREFIX$SD_NAME-ovl" "$SD_OVL"; then
		sd__err "mounting the tmpfs for the overlay failed"
		sd_teardown; return 1
	fi
	mkdir "$SD_OVL/upper" "$SD_OVL/work"
	if ! mount -t overlay "$SD_PREFIX$SD_NAME-root" \
		-o "lowerdir=/,upperdir=$SD_OVL/upper,workdir=$SD_OVL/work" "$SD_ROOT"; then
		sd__err "mounting the overlay root failed"
		sd_teardown; return 1
	fi
	# A fresh machine id each boot; no host-enabled services (nginx, postgresql...).
	: >"$SD_ROOT/etc/machine-id"
	rm -f "$SD_ROOT"/etc/systemd/system/*.wants/*
	sd__log "prepared $SD_NAME in $SD_TMP"
}

# sd__find_leader: the container's PID 1 is the child of nspawn whose comm is systemd.
sd__find_leader() {
	local pid comm
	while read -r pid comm; do
		if [ "$comm" = systemd ]; then echo "$pid"; return 0; fi
	done < <(ps -o pid=,comm= --ppid "$SD_NSPAWN_PID" 2>/dev/null)
	return 1
}

sd__boot_failed() {
	sd__err "$1"
	if [ -s "$SD_CONSOLE" ]; then
		echo "--- container console (last 40 lines) ---" >&2
		tail -n 40 "$SD_CONSOLE" >&2
		echo "---" >&2
	fi
	sd_teardown
	return 1
}

sd_start() {
	local t0 t_leader t_bus deadline mnt parent cg lock state rc pid
	if [ -z "${SD_TMP:-}" ] || ! mountpoint -q "$SD_ROOT"; then
		sd__err "sd_start: call sd_prepare NAME first"
		return 1
	fi
	if [ -n "${SD_NSPAWN_PID:-}" ]; then
		sd__err "sd_start: $SD_NAME is already started"
		return 1
	fi
	sd__ensure_nspawn || { sd_teardown; return 1; }
	# systemd-nspawn's lock on the image (image_path_lock(): by device:inode).
	SD_IMAGE_LOCK=/run/systemd/nspawn/locks/inode-$(stat -c %d:%i "$SD_ROOT")
	t0=$(sd__now)
	deadline=$((t0 + ${SD_BOOT_TIMEOUT:-60} * 1000))

	# Cleanup on exit / signals, unless the caller has its own EXIT trap.
	if [ -z "$(trap -p EXIT)" ]; then
		trap sd_teardown EXIT
		trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
	fi

	# Own cgroups, so nspawn's sub-cgroups don't land in the host's root
	# cgroup and two containers can't collide.
	while read -r mnt parent; do
		cg=$mnt${parent%/}/$SD_PREFIX$SD_NAME
		if ! mkdir "$cg"; then
			sd__err "cannot create cgroup $cg"
			sd_teardown; return 1
		fi
		SD_CGROUPS+=("$cg")
	done < <(sd__cgroup_hierarchies)
	if [ ${#SD_CGROUPS[@]} = 0 ]; then
		sd__err "no usable cgroup hierarchy under /sys/fs/cgroup"
		sd_teardown; return 1
	fi
	sd__save_state

	# Guardian: cleans up if this shell dies without tearing down (SIGKILL).
	lock=$SD_TMP/lock state=$SD_TMP/state
	exec {SD_LOCKFD}>"$lock"
	flock -x "$SD_LOCKFD"
	# shellcheck disable=SC2016
	setsid -f bash -c '. "$1" && sd__guard "$2" "$3"' sd-guard "$SD_LIB" "$state" "$lock" \
		</dev/null >/dev/null 2>&1 {SD_LOCKFD}>&-

	(
		for cg in "${SD_CGROUPS[@]}"; do
			echo "$BASHPID" >"$cg/cgroup.procs" || exit 1
		done
		# Own session: a signal to the test's process group (Ctrl-C, meson's
		# timeout) reaches the test, whose trap powers off cleanly, but not
		# nspawn, which would halt the container at the same time.
		exec setsid systemd-nspawn --quiet --directory="$SD_ROOT" --machine="$SD_NAME" \
			--boot --register=no --keep-unit --private-network \
			--system-call-filter='landlock_create_ruleset landlock_add_rule landlock_restrict_self' \
			--link-journal=no --console=read-only "${SD_NSPAWN_ARGS[@]}"
	) </dev/null >"$SD_CONSOLE" 2>&1 {SD_LOCKFD}>&- &
	SD_NSPAWN_PID=$!
	SD_NSPAWN_START=$(sd__starttime "$SD_NSPAWN_PID")
	# Not a job: no "Killed (...)" notice from bash; it still reaps it.
	disown "$SD_NSPAWN_PID"
	sd__save_state

	until SD_LEADER=$(sd__find_leader); do
		sd__alive "$SD_NSPAWN_PID" || { sd__boot_failed "systemd-nspawn exited during boot"; return 1; }
		[ "$(sd__now)" -lt "$deadline" ] || { sd__boot_failed "no container PID 1 after ${SD_BOOT_TIMEOUT:-60}s"; return 1; }
		sleep 0.01
	done
	t_leader=$(sd__now)
	SD_LEADER_START=$(sd__starttime "$SD_LEADER")
	SD_PIDNS=$(stat -L -c %i "/proc/$SD_LEADER/ns/pid")
	sd__save_state

	until [ -S "/proc/$SD_LEADER/root/run/systemd/private" ]; do
		sd__alive "$SD_LEADER" || { sd__boot_failed "container systemd died during boot"; return 1; }
		[ "$(sd__now)" -lt "$deadline" ] || { sd__boot_failed "/run/systemd/private did not appear within ${SD_BOOT_TIMEOUT:-60}s"; return 1; }
		sleep 0.01
	done
	t_bus=$(sd__now)

	# Polled in the background rather than under timeout(1): timeout puts
	# itself in its own process group, which a killpg of the test misses.
	nsenter -t "$SD_LEADER" -a systemctl is-system-running --wait \
		>"$SD_TMP/state-running" 2>&1 {SD_LOCKFD}>&- &
	pid=$!
	rc=
	while sd__alive "$pid"; do
		if [ "$(sd__now)" -ge "$deadline" ]; then
			kill -s KILL "$pid" 2>/dev/null
			rc=124
			break
		fi
		sleep 0.01
	done
	wait "$pid" 2>/dev/null && rc=${rc:-0} || rc=${rc:-$?}
	state=$(tail -n 1 "$SD_TMP/state-running")
	case $state in
	running) ;;
	degraded)
		echo "sd: $SD_NAME is degraded; failed units:" >&2
		sd_run systemctl --no-pager --no-legend --failed >&2 ;;
	*)
		if [ "$rc" = 124 ]; then
			sd_run systemctl --no-pager --no-legend list-jobs >&2
			sd__boot_failed "is-system-running --wait timed out (${SD_BOOT_TIMEOUT:-60}s), state: $(sd_run systemctl is-system-running)"
		else
			sd__boot_failed "is-system-running: '$state' (rc $rc)"
		fi
		return 1 ;;
	esac
	SD_BOOT_MS=$(($(sd__now) - t0))
	sd__log "booted $SD_NAME: PID 1 is $SD_LEADER on the host, $state, ${SD_BOOT_MS} ms" \
		"(PID 1 at $((t_leader - t0)), /run/systemd/private at $((t_bus - t0)))"
}

sd_boot() {
	sd_prepare "$@" && sd_start
}

sd_run() {
	if [ -z "${SD_LEADER:-}" ]; then
		sd__err "sd_run: no container running"
		return 1
	fi
	if [ -n "${SD_LOCKFD:-}" ]; then
		# Not inherited: a command left running must not keep the guardian waiting.
		nsenter -t "$SD_LEADER" -a "$@" {SD_LOCKFD}>&-
	else
		nsenter -t "$SD_LEADER" -a "$@"
	fi
}

sd_path() {
	local p=${1:?usage: sd_path PATH}
	if [ -z "${SD_LEADER:-}" ]; then
		sd__err "sd_path: no container running"
		return 1
	fi
	echo "/proc/$SD_LEADER/root/${p#/}"
}

# Where DEST inside is written from the host: once booted, through the
# container's mount namespace (its /run, /tmp... are tmpfs over the overlay);
# before, straight into the overlay.
sd__target() {
	local dest=$1
	if [ "${dest:0:1}" != / ]; then
		sd__err "destination must be absolute: $dest"
		return 1
	fi
	if [ -n "${SD_LEADER:-}" ]; then
		echo "/proc/$SD_LEADER/root$dest"
	elif [ -n "${SD_ROOT:-}" ] && mountpoint -q "$SD_ROOT"; then
		echo "$SD_ROOT$dest"
	else
		sd__err "no container prepared"
		return 1
	fi
}

sd_install_file() {
	local src=${1:?usage: sd_install_file SRC DEST [MODE]} dest=${2:?usage: sd_install_file SRC DEST [MODE]} t
	t=$(sd__target "$dest") || return 1
	[ -f "$src" ] || { sd__err "sd_install_file: $src: no such file"; return 1; }
	mkdir -p "${t%/*}" && cp -L --preserve=mode "$src" "$t" || return 1
	[ -z "${3:-}" ] || chmod "$3" "$t"
}

sd_write_file() {
	local dest=${1:?usage: sd_write_file DEST [MODE] <CONTENT} t
	t=$(sd__target "$dest") || return 1
	mkdir -p "${t%/*}" && cat >"$t" || return 1
	[ -z "${2:-}" ] || chmod "$2" "$t"
}

sd_install_bin() {
	local src=${1:?usage: sd_install_bin SRC [DEST]}
	sd_install_file "$src" "${2:-/usr/local/bin/${src##*/}}" 0755
}

# Copies shared libraries into /usr/local/lib and refreshes the loader cache
# inside (copies of an installed binary lose their $ORIGIN-relative RUNPATH).
sd_install_lib() {
	local f
	for f in "$@"; do
		sd_install_file "$f" "/usr/local/lib/${f##*/}" 0755 || return 1
	done
	if [ -n "${SD_LEADER:-}" ]; then
		sd_run ldconfig
	else
		chroot "$SD_ROOT" ldconfig
	fi
}

# The overlay's lower layer is the host's / only: paths under another mount
# (a separate /work, /home...) look empty inside.
sd_host_path_visible() {
	local p
	p=$(readlink -m "${1:?usage: sd_host_path_visible PATH}")
	# nspawn mounts a tmpfs of its own on /tmp
	case $p/ in /tmp/*) return 1 ;; esac
	[ "$(findmnt -n -o TARGET -T "$p")" = / ]
}

sd_journal() {
	if [ -z "${SD_LEADER:-}" ] || ! sd__alive "$SD_LEADER"; then
		sd__err "sd_journal: no container running"
		return 1
	fi
	if [ -n "${1:-}" ]; then
		echo "--- journal of $1 in $SD_NAME ---" >&2
		sd_run journalctl --no-pager -b -o short-monotonic -u "$1" >&2
	else
		echo "--- journal of $SD_NAME ---" >&2
		sd_run journalctl --no-pager -b -o short-monotonic >&2
	fi
	echo "---" >&2
}

# All PIDs in a cgroup subtree.
sd__cgroup_pids() {
	[ -d "$1" ] || return 0
	find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null
}

# sd__kill_entered: kill the processes that nsenter put into the container
# (they share its PID namespace but not its cgroup), and SIGCONT their nsenter;
# true if there were any.
# When the container shuts down, systemd-shutdown SIGSTOPs every process
# before killing it; nsenter mirrors its child's stop on itself and so never
# reaps the zombie, and the container's PID 1 then waits in the kernel
# (zap_pid_ns_processes) forever.
sd__kill_entered() {
	local ino f pid ppid s cg found=1
	[ -n "$SD_PIDNS" ] || return 1
	while read -r ino f; do
		[ "$ino" = "$SD_PIDNS" ] || continue
		f=${f%/ns/pid}
		cg=
		read -r -d "" cg 2>/dev/null <"$f/cgroup"
		[[ $cg == *"/$SD_PREFIX$SD_NAME/"* || $cg == *"/$SD_PREFIX$SD_NAME"$'\n'* ]] && continue
		s=
		read -r s 2>/dev/null <"$f/stat" || continue
		s=${s##*) }
		set -- $s
		ppid=$2 pid=${f#/proc/}
		kill -s KILL "$pid" 2>/dev/null
		[ "$ppid" -gt 1 ] && kill -s CONT "$ppid" 2>/dev/null
		found=0
	done < <(stat -L -c '%i %n' /proc/[0-9]*/ns/pid 2>/dev/null)
	return $found
}

sd_teardown() {
	local - pid i t0 t1 cg left any mnt d others
	set +eu
	[ -n "${SD_TMP:-}" ] || return 0
	t0=$(sd__now)

	# (If a signal came between forking nspawn and recording its PID, the
	# cgroup pass below kills it.)
	if sd__alive "$SD_NSPAWN_PID" "$SD_NSPAWN_START"; then
		# Processes nsenter left inside (their nsenter killed with the test)
		# would hold up systemd-shutdown: it waits, 10 s, for a zombie
		# that only the host's init can reap.
		for ((i = 0; i < 100; i++)); do
			sd__kill_entered || break
			sleep 0.02
		done
		for ((i = 0; i < ${SD_STOP_TIMEOUT:-10} * 50; i++)); do
			sd__alive "$SD_NSPAWN_PID" "$SD_NSPAWN_START" || break
			# Every 0.5 s: early in boot, before systemd has its signal
			# handlers, PID 1 of a PID namespace drops signals from outside.
			if ((i % 25 == 0)); then
				sd__kill_entered
				if [ -z "$SD_LEADER" ] && SD_LEADER=$(sd__find_leader); then
					SD_LEADER_START=$(sd__starttime "$SD_LEADER")
				fi
				if sd__alive "$SD_LEADER" "$SD_LEADER_START"; then
					kill -s RTMIN+4 "$SD_LEADER" 2>/dev/null   # poweroff
				elif ((i == 0)); then
					kill -s TERM "$SD_NSPAWN_PID" 2>/dev/null  # nspawn stops a container not yet up
				fi
			fi
			sleep 0.02
		done
		if sd__alive "$SD_NSPAWN_PID" "$SD_NSPAWN_START"; then
			sd__err "$SD_NAME did not power off within ${SD_STOP_TIMEOUT:-10}s: SIGKILL"
			kill -s KILL "$SD_NSPAWN_PID" 2>/dev/null
		fi
	fi
	for ((i = 0; i < 250; i++)); do
		sd__alive "$SD_NSPAWN_PID" "$SD_NSPAWN_START" || break
		sleep 0.02
	done

	t1=$(sd__now)
	sd__kill_entered
	# Whatever survived nspawn (the container's systemd does if nspawn was
	# SIGKILLed): kill by PID, repeatedly, until the cgroups are empty.
	for ((i = 0; i < 250; i++)); do
		any=
		for cg in "${SD_CGROUPS[@]}"; do
			for pid in $(sd__cgroup_pids "$cg"); do
				[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
				kill -s KILL "$pid" 2>/dev/null
				any=1
			done
		done
		[ -n "$any" ] || break
		sleep 0.02
	done
	for cg in "${SD_CGROUPS[@]}"; do
		[ -d "$cg" ] || continue
		for ((i = 0; i < 50; i++)); do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$cg" ] || break
			sleep 0.02
		done
		[ -d "$cg" ] && sd__err "cgroup $cg could not be removed: $(sd__cgroup_pids "$cg" | tr '\n' ' ')"
	done

	for mnt in "$SD_ROOT" "$SD_OVL"; do
		[ -n "$mnt" ] || continue
		for ((i = 0; i < 50; i++)); do
			mountpoint -q "$mnt" || break
			umount "$mnt" 2>/dev/null && break
			sleep 0.02
		done
		if mountpoint -q "$mnt"; then
			sd__err "$mnt busy, detaching it lazily"
			umount -l "$mnt"
		fi
	done

	# nspawn can't remove this itself: /run is not a tmpfs here. Its image
	# lock stays behind too when nspawn is SIGKILLed.
	rm -rf "/run/systemd/nspawn/propagate/$SD_NAME"
	[ -n "$SD_IMAGE_LOCK" ] && rm -f "$SD_IMAGE_LOCK"
	# Shared host dirs we caused to exist, unless another of our containers
	# may be using them; rmdir only removes them if empty.
	others=$(find "${SD_TMP%/*}" -maxdepth 2 -path "*/$SD_PREFIX*/state" ! -path "$SD_TMP/*" 2>/dev/null)
	if [ -z "$others" ]; then
		for d in "${SD_MADE_DIRS[@]}"; do
			rmdir "$d" 2>/dev/null
		done
	fi

	left=
	mountpoint -q "$SD_ROOT" 2>/dev/null && left=1
	mountpoint -q "$SD_OVL" 2>/dev/null && left=1
	if [ -z "$left" ]; then
		rm -rf --one-file-system "$SD_TMP"
	else
		sd__err "$SD_TMP still has mounts, not deleted"
	fi
	SD_TEARDOWN_MS=$(($(sd__now) - t0))
	sd__log "tore down $SD_NAME in $SD_TEARDOWN_MS ms (poweroff $((t1 - t0)) ms, cleanup $(($(sd__now) - t1)) ms)"

	# Releasing the lock lets the guardian see the state is gone and exit.
	[ -n "${SD_LOCKFD:-}" ] && exec {SD_LOCKFD}>&-
	unset SD_NAME SD_TMP SD_OVL SD_ROOT SD_CGROUPS SD_NSPAWN_PID SD_NSPAWN_START \
		SD_LEADER SD_LEADER_START SD_MADE_DIRS SD_IMAGE_LOCK SD_PIDNS SD_CONSOLE SD_LOCKFD
	return 0
}

# sd__guard STATE LOCK: runs detached; blocks until every holder of LOCK (the
# test shell and anything that inherited the fd) is gone, then tears down
# whatever STATE still describes.
sd__guard() {
	local fd
	for fd in "/proc/$BASHPID"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) && eval "exec $fd>&-"
	done 2>/dev/null
	# Held until this process exits, so sd_sweep leaves it alone meanwhile.
	exec {fd}<>"$2" 2>/dev/null || return 0
	flock -x "$fd" || return 0
	[ -f "$1" ] || return 0
	# shellcheck disable=SC1090
	. "$1" || return 0
	SD_QUIET=1 sd_teardown
}

# sd_leftovers: print what this harness may have left on the host (mounts,
# cgroups, processes, tmp dirs, nspawn state); false if there is any.
sd_leftovers() {
	local found=0 f pid cmd
	if grep "^$SD_PREFIX" /proc/mounts; then found=1; fi
	f=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "$SD_PREFIX*" 2>/dev/null)
	[ -z "$f" ] || { echo "cgroups: $f"; found=1; }
	for f in /proc/[0-9]*; do
		pid=${f#/proc/}
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		if grep -qs "$SD_PREFIX" "$f/cgroup"; then
			cmd=$(tr '\0' ' ' 2>/dev/null <"$f/cmdline")
			echo "process in our cgroup: $pid $cmd"; found=1
		fi
		cmd=$(tr '\0' ' ' 2>/dev/null <"$f/cmdline")
		case $cmd in
		*"sd__guard"*|*"systemd-nspawn"*"--directory=${TMPDIR:-/tmp}/$SD_PREFIX"*)
			echo "process: $pid $cmd"; found=1 ;;
		"nsenter -t "*)   # into a container that is gone
			set -- $cmd
			[ -e "/proc/$3" ] || { echo "process: $pid $cmd"; found=1; } ;;
		esac
	done
	f=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name "$SD_PREFIX*" 2>/dev/null)
	[ -z "$f" ] || { echo "tmp dirs: $f"; found=1; }
	f=$(find /run/systemd/nspawn -mindepth 1 2>/dev/null)
	[ -z "$f" ] || { echo "nspawn state: $f"; found=1; }
	return $found
}

# sd_sweep: tear down every container of this harness whose owner is gone
# (its lock is free), then print anything left (see sd_leftovers).
sd_sweep() {
	local d
	for d in "${TMPDIR:-/tmp}/$SD_PREFIX"*/; do
		[ -f "$d/state" ] || continue
		if [ -f "$d/lock" ] && ! flock -n -x "$d/lock" true; then
			sd__log "skipping ${d%/}: its test (or its guardian) still holds the lock"
			continue
		fi
		sd__log "sweeping ${d%/}"
		# shellcheck disable=SC1091
		( . "$d/state" && sd_teardown )
	done
	sd_leftovers
}
