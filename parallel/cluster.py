"""Devices and processes of a data-parallel run: --devices, --cluster and TF_CONFIG, on TensorFlow's runtime.

One machine: the towers go on its GPUs, or on as many logical CPU devices (a real replica each, but no
speed-up: they share the cores). Several machines: every task starts a tf.distribute.Server; the chief
(the first task) builds every tower in its graph, placed on the tasks' devices, and runs the training
loop; the other tasks serve their devices until the chief says it is done. Only the chief writes files.
A task that dies fails the chief's next step (within STEP_TIMEOUT_SECONDS); a chief that dies stops the
others at their next probe.
"""
import contextlib
import json
import queue
import socket
import threading
import time

from common import tfenv
from common.errors import Interrupted, UserError, WorkerLost

STEP_TIMEOUT_SECONDS = 300  # longest a session.run may wait on another task
DONE_QUEUE = "done_queue_{job}_{index}"  # where the chief leaves a worker its token to stop
# The tokens: the chief has every task and starts training; it finished or was stopped by a signal; it lost a task.
STARTED, DONE, FAILED = 3, 1, 2


def cluster_from_flags(addresses, task_index):
    """(cluster, task_index) of --cluster host:port,host:port --task_index i: jobs all 'worker'."""
    tasks = tuple(("worker", a.strip()) for a in addresses.split(",") if a.strip())
    if len(tasks) < 2:
        raise UserError(f"--cluster {addresses!r} names {len(tasks)} task; give host:port of each, the chief first")
    if not 0 <= task_index < len(tasks):
        raise UserError(f"--task_index {task_index} is not in [0, {len(tasks) - 1}] for a cluster of {len(tasks)}")
    return tasks, task_index


def cluster_from_tf_config(text):
    """(cluster, task_index) of a TF_CONFIG: its chief (if any) first, then its workers."""
    try:
        spec = json.loads(text)
        jobs, task = spec["cluster"], spec["task"]
        tasks = tuple((job, address) for job in ("chief", "worker") for address in jobs.get(job, []))
        index = tasks.index((task["type"], jobs[task["type"]][int(task["index"])]))
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise UserError(f"TF_CONFIG is not a cluster with this task in it ({e}); see docs/parallel.md") from None
    if set(jobs) - {"chief", "worker"}:
        raise UserError(f"TF_CONFIG has jobs {sorted(jobs)}; only 'chief' and 'worker' take part here")
    return tasks, index


def _device_kind(tf):
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def _task_name(cluster, position):
    job = cluster[position][0]
    return f"/job:{job}/replica:0/task:{sum(1 for j, _ in cluster[:position] if j == job)}"


def prepare_devices(parallel):
    """Make --devices N logical CPU devices on a machine without GPUs; before the first session."""
    tf = tfenv.tensorflow()
    count = parallel.local_count
    if count is None:
        _check_names(parallel, tf)
        return
    if _device_kind(tf) == "GPU":
        found = len(tf.config.list_physical_devices("GPU"))
        if count > found:
            raise UserError(f"--devices {count}: this machine has {found} GPU(s)")
    elif count > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        if len(tf.config.get_logical_device_configuration(cpu) or [None]) != count:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def _check_names(parallel, tf):
    """Refuse --devices names that this machine lacks, before a graph is placed on them; names of a cluster's
    tasks (/job:...) are checked by TensorFlow when the tasks answer."""
    if parallel.cluster:
        return
    have = {(d.device_type, tf.DeviceSpec.from_string(d.name).device_index)
            for d in tf.config.list_logical_devices()}
    for name in parallel.devices:
        spec = tf.DeviceSpec.from_string(name)
        if spec.job is None and (spec.device_type, spec.device_index or 0) not in have:
            raise UserError(f"--devices {','.join(parallel.devices)}: this machine has no {name}; it has "
                            + ", ".join(f"/{kind.lower()}:{index}" for kind, index in sorted(have)))


def tower_devices(parallel, tf):
    """The towers' device names, one per replica."""
    count = parallel.local_count
    if count is None:
        return tuple(parallel.devices)
    kind = _device_kind(tf)
    local = [f"/device:{kind}:{i}" for i in range(count)]
    if not parallel.cluster:
        return tuple(local) if count > 1 else ()
    return tuple(_task_name(parallel.cluster, k) + d for k in range(len(parallel.cluster)) for d in local)


def session_config(parallel, tf):
    """tfenv's session options, with the devices and cluster of parallel."""
    config = tfenv.session_config()
    count = parallel.local_count
    if count and count > 1 and _device_kind(tf) == "CPU":
        config.device_count["CPU"] = count
    if parallel.cluster:
        config.experimental.collective_group_leader = _task_name(parallel.cluster, 0)
        config.operation_timeout_in_ms = STEP_TIMEOUT_SECONDS * 1000
    return config


def _server(parallel, config, tf):
    job, address = parallel.cluster[parallel.task_index]
    jobs = {}
    for j, a in parallel.cluster:
        jobs.setdefault(j, []).append(a)
    index = int(_task_name(parallel.cluster, parallel.task_index).rsplit(":", 1)[1])
    try:
        return tf.distribute.Server(tf.train.ClusterSpec(jobs), job_name=job, task_index=index, config=config)
    except Exception as e:  # an address in use or unknown: TF raises a bare UnknownError
        raise UserError(f"cannot serve {address} as task {parallel.task_index} of --cluster: {e}".splitlines()[0])


def _done_queue(tf, name_of_task):
    job, index = name_of_task.split("/")[1][len("job:"):], name_of_task.rsplit(":", 1)[1]
    with tf.device(name_of_task):
        return tf.compat.v1.FIFOQueue(1, tf.int32, shared_name=DONE_QUEUE.format(job=job, index=index))


@contextlib.contextmanager
def training_session(parallel, log=print):
    """(session on a new default graph, Placement) for the chief's training; tells the workers when it ends."""
    tf = tfenv.tensorflow()
    prepare_devices(parallel)
    devices = tower_devices(parallel, tf)
    config = session_config(parallel, tf)
    target = ""
    if parallel.cluster:
        target = _server(parallel, config, tf).target
        log(f"chief: {len(devices)} towers on {len(parallel.cluster)} tasks; waiting for every task to answer")
    params_device = (_task_name(parallel.cluster, 0) + "/device:CPU:0" if parallel.cluster else
                     "/device:CPU:0" if devices else None)
    from parallel.replicas import Placement  # imports TensorFlow, which tfenv imports first, quietly
    placement = Placement(devices, params_device, parallel.sync_bn)
    graph = tf.Graph()
    sess = tf.compat.v1.Session(target, graph=graph, config=config)
    token = FAILED
    try:
        with graph.as_default(), sess.as_default():
            if parallel.cluster:
                _announce_start(target, config, parallel, tf)
            try:
                yield sess, placement
                token = DONE
            except Interrupted:
                token = DONE  # Ctrl-C or SIGTERM: the chief saved, as on one device
                raise
            except tf.errors.OpError as e:
                if not parallel.cluster:
                    raise
                raise WorkerLost(f"a task of the cluster stopped answering ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:200]}); the last checkpoint is intact: restart every "
                                 f"task, then this command, to resume") from None
            finally:
                if parallel.cluster:
                    _tell_workers(sess, parallel, tf, token)  # a new session would wait for a dead task
    finally:
        _close(sess, parallel, lost=token == FAILED)


def _close(sess, parallel, lost):
    """Close the chief's session. With a task gone, closing waits on TensorFlow's RPC retries (TensorFlow's own
    context manager gives it 30 s): give it one probe, then leave it to the process's exit."""
    if not (parallel.cluster and lost):
        sess.close()
        return
    closing = threading.Thread(target=sess.close, daemon=True)
    closing.start()
    closing.join(parallel.probe_seconds)


def _announce_start(target, config, parallel, tf):
    """Tell each worker that the chief has every task and trains: from then on it watches for the chief's death.
    In a graph of its own, so that the training graph's op-level seeds do not depend on the cluster."""
    with tf.Graph().as_default(), tf.compat.v1.Session(target, config=config) as side:
        _tell_workers(side, parallel, tf, STARTED)


def _tell_workers(sess, parallel, tf, token):
    """Leave each live worker a token; a dead one is skipped."""
    wait = tf.compat.v1.RunOptions(timeout_in_ms=int(parallel.probe_seconds * 1000))
    for position in range(1, len(parallel.cluster)):
        enqueue = _done_queue(tf, _task_name(parallel.cluster, position)).enqueue(token)
        with contextlib.suppress(tf.errors.OpError):
            sess.run(enqueue, options=wait)


def serve(parallel, log=print):
    """A worker: serve this task's devices to the chief until it is done; WorkerLost if it disappears."""
    with tfenv.native_logs_dropped():
        _serve(parallel, log)


def _serve(parallel, log):
    tf = tfenv.tensorflow()
    prepare_devices(parallel)
    config = session_config(parallel, tf)
    server = _server(parallel, config, tf)
    me = _task_name(parallel.cluster, parallel.task_index)
    config.device_filters.extend([me])  # this process's own session needs no other task
    chief_address = parallel.cluster[0][1]
    log(f"worker {parallel.task_index}: serving {me} to the chief at {chief_address}")
    tokens, stop = queue.Queue(), threading.Event()

    def wait_for_tokens():  # until the chief leaves its last one, or the main thread gives up on the chief
        last = None
        try:
            with tf.Graph().as_default(), tf.compat.v1.Session(server.target, config=config) as sess:
                dequeue, wait = _done_queue(tf, me).dequeue(), tf.compat.v1.RunOptions(timeout_in_ms=1000)
                while last is None and not stop.is_set():
                    with contextlib.suppress(tf.errors.DeadlineExceededError):
                        token = sess.run(dequeue, options=wait)
                        if token == STARTED:
                            tokens.put(token)
                        else:
                            last = token
        except Exception as e:  # noqa: BLE001 - handed to the main thread, which raises it
            last = e
        tokens.put(last)  # after the session closed: no TensorFlow call is left running at exit

    waiter = threading.Thread(target=wait_for_tokens, daemon=True)
    waiter.start()
    try:
        _watch(parallel, tokens, chief_address, log)
    finally:
        stop.set()  # main.py then ends a worker with os._exit: a TensorFlow server cannot be shut down


def _watch(parallel, tokens, chief_address, log):
    """Return when the chief's token says it is done; WorkerLost when it failed or is gone."""
    seen_chief = False
    while True:
        try:
            token = tokens.get(timeout=parallel.probe_seconds)
        except queue.Empty:
            if _answers(chief_address, parallel.probe_seconds):
                seen_chief = True
                continue
            if not seen_chief:
                continue  # not started yet
            try:  # a chief that just finished leaves its token before it goes
                token = tokens.get(timeout=parallel.probe_seconds)
            except queue.Empty:
                raise WorkerLost(f"worker {parallel.task_index}: the chief at {chief_address} stopped answering; "
                                 f"restart the chief with its command, then this worker") from None
        if isinstance(token, Exception):
            raise token
        if token == STARTED:
            seen_chief = True  # it may die before the next probe: then that probe finds it gone
            continue
        if token == DONE:
            log(f"worker {parallel.task_index}: the chief is done (finished, or stopped and saved)")
            _outlive(chief_address, parallel.probe_seconds)
            return
        _outlive(chief_address, parallel.probe_seconds)
        raise WorkerLost(f"worker {parallel.task_index}: the chief stopped on an error (it says which); "
                         f"restart the chief with its command, then this worker")


def _outlive(chief_address, probe_seconds):
    """Serve until the chief has gone, at most STEP_TIMEOUT_SECONDS: closing its session still calls this task,
    and a gone task makes that close wait on TensorFlow's RPC retries."""
    deadline = time.time() + STEP_TIMEOUT_SECONDS
    while time.time() < deadline and _answers(chief_address, probe_seconds):
        time.sleep(0.5)


def _answers(address, probe_seconds):
    """Whether something listens at host:port: the chief's server is up. Not TensorFlow's RPC, whose retries
    can outlast a dead peer by minutes."""
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=probe_seconds).close()
        return True
    except OSError:
        return False
