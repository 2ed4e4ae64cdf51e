"""issue 12: the function.zip `make package` writes runs where nothing of this
machine is visible.

The zip is unpacked into /var/task of an otherwise empty directory, which
becomes the root (chroot) of the function in a mount namespace of its own:
besides the unpacked files it holds only a static shell for the bootstrap
script (/bin/sh, busybox-static), /tmp, and /dev and /proc bound from the host.
The Lambda emulator runs outside and starts the function through that jail;
the network namespace is the host's, so the dev server on loopback is
reachable. A C workflow and its C activity (examples/greeting) complete
through it, every file the function has mapped is inside the package, and
`bootstrap --print-config` works in the same jail.
"""
import asyncio
import os
import shutil
import stat
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from conftest import BUILD, REPO, invoke, program
from workers import set_current_version

# The greeting example's own names (examples/greeting/bootstrap.c).
QUEUE, DEPLOYMENT, BUILD_ID = "greetings", "greetings", "v1.0"


def static_shell() -> Path:
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and Path(candidate).exists():
            if static_program(Path(candidate)):
                return Path(candidate)
    pytest.fail("no statically linked busybox for the jail's /bin/sh: "
                "apt-get install busybox-static (scripts/install-deps does)")


def make_package(tmp: Path, files, build: Path = BUILD, flags=(), env=None) -> Path:
    """`make package` with the example program and the given files."""
    if not (build / "examples/greeting/bootstrap").exists():
        pytest.fail(f"{build}/examples/greeting/bootstrap is not built")
    out = tmp / "function.zip"
    p = subprocess.run(["make", "-s", "-C", str(build), "package", f"TLW_PACKAGE_ZIP={out}",
                        "TLW_PACKAGE_FILES=" + " ".join(str(f) for f in files),
                        "TLW_PACKAGE_FLAGS=" + " ".join(flags)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"tlw-package: {out}: " in p.stdout and "unpacked" in p.stdout, p.stdout
    return out


def unpack(zip_path: Path, task: Path) -> dict:
    """Unpacks as Lambda does, with the modes the zip records; returns them."""
    modes = {}
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            z.extract(info, task)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(task / info.filename, mode)
            modes[info.filename] = mode
    return modes


def static_program(path: Path) -> bool:
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
    said = out.stdout + out.stderr
    return "not a dynamic executable" in said or "statically linked" in said  # static-pie


def make_jail(tmp: Path, zip_path: Path, extra=None):
    """The root: /var/task (the package), /bin/sh, /tmp, /dev, /proc, and
    `extra` ({path in the jail: a static program of this machine})."""
    root = tmp / "root"
    task = root / "var" / "task"
    task.mkdir(parents=True)
    modes = unpack(zip_path, task)
    (root / "bin").mkdir()
    shutil.copy2(static_shell(), root / "bin" / "sh")
    for inside, path in (extra or {}).items():
        assert static_program(path), f"{path} is not statically linked"
        (root / inside).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, root / inside)
    for d in ("tmp", "dev", "proc"):
        (root / d).mkdir()
    os.chmod(root / "tmp", 0o1777)
    # Runs COMMAND (a path in the jail) with ROOT as / and /var/task as the
    # working directory, as Lambda does; unshare gives it a private mount
    # namespace, so the binds vanish with it.
    jail = tmp / "jail.sh"
    jail.write_text(
        '#!/bin/sh\n'
        'set -e\n'
        'root=$1; shift\n'
        'mount --rbind /dev "$root/dev"\n'
        'mount --rbind /proc "$root/proc"\n'
        'exec unshare --root="$root" --wd=/var/task "$@"\n')
    userns = [] if os.getuid() == 0 else ["--user", "--map-root-user"]
    enter = ["unshare", *userns, "--mount", "--propagation", "private", "/bin/sh", str(jail),
             str(root)]
    return root, modes, enter


def jail_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS") or k.startswith("AWS_LAMBDA_")}
    env.update(PATH="/usr/sbin:/usr/bin:/sbin:/bin", LAMBDA_TASK_ROOT="/var/task", **extra)
    return env


def settings_files(tmp: Path, address: str):
    """temporal.toml and lambda_worker.cfg, to go into the zip."""
    conf = tmp / "conf"
    conf.mkdir()
    toml = conf / "temporal.toml"
    toml.write_text(f'[profile.default]\naddress = "{address}"\nnamespace = "default"\n')
    cfg = conf / "lambda_worker.cfg"
    cfg.write_text("workflow_slots = 1;\nactivity_slots = 1;\n"
                   "graceful_shutdown_timeout_ms = 1000;\nshutdown_deadline_buffer_ms = 2500;\n")
    return [toml, cfg]


@pytest.fixture
def packaged(tmp_path, dev_server):
    zip_path = make_package(tmp_path, settings_files(tmp_path, dev_server.address))
    return make_jail(tmp_path, zip_path)


def test_the_package_holds_the_program_its_libraries_and_the_loader(packaged):
    root, modes, _ = packaged
    assert modes["bootstrap"] == 0o755 and modes["bin/bootstrap"] == 0o755
    assert modes["temporal.toml"] == 0o644 and modes["lambda_worker.cfg"] == 0o644
    libs = {Path(n).name for n in modes if n.startswith("lib/")}
    for needed in ("ld-linux-x86-64.so.2", "libc.so.6", "libtlw.so.0", "libgrpc.so.29",
                   "libev.so.4", "libprotobuf-c.so.1", "libconfig.so.9", "libjansson.so.4",
                   "libcurl.so.4", "libtlw-grpc.so", "libtlw-s3.so"):
        assert needed in libs, sorted(libs)
    assert all(modes[n] == 0o755 for n in modes if n.startswith("lib/"))
    text = (root / "var/task/bootstrap").read_text()
    assert text.startswith("#!/bin/sh\n")
    assert '"$root/lib/ld-linux-x86-64.so.2" --library-path "$root/lib"' in text
    # Nothing but the package, the shell and the mount points.
    assert sorted(os.listdir(root)) == ["bin", "dev", "proc", "tmp", "var"]
    assert os.listdir(root / "bin") == ["sh"]


def check_print_config(enter, command, address):
    p = subprocess.run([*enter, *command, "--print-config"], env=jail_env(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = {line.split()[0]: line for line in p.stdout.splitlines() if line.strip()}
    assert address in lines["client.address"]
    assert "/var/task/temporal.toml" in lines["client.address"]
    assert "greetings" in lines["worker.task_queue"]
    assert "/var/task/lambda_worker.cfg" in lines["worker.workflow_slots"], p.stdout


def test_print_config_runs_in_the_jail(packaged, dev_server):
    _, _, enter = packaged
    check_print_config(enter, ["/var/task/bootstrap"], dev_server.address)


def mapped_files(pid: int) -> set:
    files = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and not parts[5].startswith("/memfd:"):
            files.add(parts[5].removesuffix(" (deleted)"))
    return files


def children(pid: int) -> list:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def run_greeting(root, enter, command, dev_server, lambda_emulator, tmp_path, name, timeout_s=8):
    """The function (COMMAND in the jail) under the emulator: the first
    invocation registers greetings/v1.0, which is made current; the second
    runs GreetingWorkflow and its activity. Returns the second summary and
    the files the function had mapped between the invocations."""
    function = tmp_path / "function.sh"
    function.write_text("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in [*enter, *command])
                        + "\n")
    function.chmod(0o755)
    emu = lambda_emulator(function, env=jail_env(), timeout_s=timeout_s)

    status, body, _ = invoke(emu.url, {})  # registers greetings/v1.0
    assert status == 200, (body, emu.log.read_text()[-3000:])
    set_current_version(dev_server.address, DEPLOYMENT, BUILD_ID)

    # The function between invocations: the emulator's child, exec'd through
    # the jail into the packaged loader.
    supervisor = children(emu.proc.pid)
    assert supervisor, "the function's process is not running between invocations"
    maps = mapped_files(supervisor[0])

    from temporalio.client import Client

    async def start():
        client = await Client.connect(dev_server.address)
        return await client.start_workflow("GreetingWorkflow", name,
                                           id=f"pkg-{uuid.uuid4().hex[:10]}", task_queue=QUEUE)

    handle = asyncio.run(start())
    status, body, _ = invoke(emu.url, {})
    assert status == 200, (body, emu.log.read_text()[-3000:])

    async def result():
        client = await Client.connect(dev_server.address)
        return await asyncio.wait_for(client.get_workflow_handle(handle.id).result(), 30)

    assert asyncio.run(result()) == f"Hello, {name}!"
    assert body["tasks"]["workflow"]["completed"] >= 1, body
    assert body["tasks"]["activity"]["completed"] >= 1, body
    return body, maps


def test_a_workflow_completes_through_the_unpacked_function_in_the_jail(
        packaged, dev_server, lambda_emulator, tmp_path):
    root, _, enter = packaged
    _, maps = run_greeting(root, enter, ["/var/task/bootstrap"], dev_server, lambda_emulator,
                           tmp_path, "World")
    # Every file the function mapped is the package's.
    task = str((root / "var" / "task").resolve())
    assert any(m.endswith("/lib/libc.so.6") for m in maps), maps
    assert all(m.startswith(task + "/") for m in maps), sorted(maps)
    # The supervisor loaded gRPC from the package's lib/, beside libtlw.so.
    assert task + "/lib/libtlw-grpc.so" in maps, sorted(maps)
    assert task + "/lib/libgrpc.so.29" in maps, sorted(maps)


def test_a_package_without_the_grpc_module_fails_its_init_naming_it(
        packaged, lambda_emulator, tmp_path):
    root, _, enter = packaged
    (root / "var/task/lib/libtlw-grpc.so").unlink()
    function = tmp_path / "function.sh"
    function.write_text("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in
                                                    [*enter, "/var/task/bootstrap"]) + "\n")
    function.chmod(0o755)
    emu = lambda_emulator(function, env=jail_env(), timeout_s=8)
    status, body, _ = invoke(emu.url, {})
    text = str(body) + emu.log.read_text()
    assert "Tlw.InitError" in text, text[-3000:]
    assert "cannot load libtlw-grpc.so" in text, text[-3000:]
    assert "beside libtlw.so" in text, text[-3000:]


def tlw_package(*args, env=None, cwd=None):
    return subprocess.run([str(REPO / "package" / "tlw-package"), *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_tlw_package_names_the_bad_input_and_the_fix(tmp_path):
    wrapper = program("examples/greeting/bootstrap")  # libtool's wrapper script
    p = tlw_package("-o", tmp_path / "f.zip", wrapper)
    assert p.returncode == 1
    assert "is a libtool wrapper script" in p.stderr and ".libs/bootstrap" in p.stderr, p.stderr

    real = BUILD / "examples/greeting/.libs/bootstrap"
    p = tlw_package("-o", tmp_path / "f.zip", real, env=dict(os.environ, LD_LIBRARY_PATH=""))
    assert p.returncode == 1
    assert "libtlw.so.0" in p.stderr and "LD_LIBRARY_PATH" in p.stderr, p.stderr

    env = dict(os.environ, LD_LIBRARY_PATH=str(BUILD / ".libs"))
    p = tlw_package("-o", tmp_path / "f.zip", real, tmp_path / "temporal.toml", env=env)
    assert p.returncode == 1 and "temporal.toml\" does not exist" in p.stderr, p.stderr

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "bootstrap").write_text("x")
    p = tlw_package("-o", tmp_path / "f.zip", real, tmp_path / "a" / "bootstrap", env=env)
    assert p.returncode == 1 and "already has \"bootstrap\"" in p.stderr, p.stderr
    assert not (tmp_path / "f.zip").exists()


def test_tlw_package_packages_a_program_built_outside_the_tree(tmp_path):
    """As a user does with the installed script: the real program, its
    libraries found through LD_LIBRARY_PATH, named bootstrap in bin/."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(BUILD / ".libs"))
    p = tlw_package("-o", "out.zip", BUILD / "examples/greeting/.libs/bootstrap", env=env,
                    cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "lib/libtlw.so.0" in p.stdout and "tlw-package: out.zip: " in p.stdout, p.stdout
    task = tmp_path / "task"
    unpack(tmp_path / "out.zip", task)
    out = subprocess.run([str(task / "bootstrap"), "--version"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("tlw "), out.stdout + out.stderr
    usage = subprocess.run([str(task / "bootstrap"), "--bogus"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"}, timeout=30)
    # --argv0: the program's messages name the script Lambda runs.
    assert usage.returncode == 2 and f"usage: {task}/bootstrap" in usage.stderr, usage.stderr


# arm64 (Graviton): a cross-build (scripts/arm64-build), packaged here with
# the target's loader under qemu-user listing the libraries, and run under
# qemu-user in the same jail. Not part of scripts/test: the cross toolchain,
# the arm64 sysroot and the build take a few hundred MB and minutes.
ARM64_BUILD = os.environ.get("TLW_ARM64_BUILD_DIR")
ARM64_SYSROOT = Path(os.environ.get("TLW_ARM64_SYSROOT") or
                     Path(os.environ.get("TLW_CACHE_DIR", Path.home() / ".cache" / "tlw"))
                     / "arm64-sysroot")
EM_AARCH64 = 183


@pytest.mark.skipif(not ARM64_BUILD, reason="arm64: run scripts/arm64-build, then set "
                    "TLW_ARM64_BUILD_DIR (default build-arm64)")
def test_an_arm64_package_runs_a_workflow_under_qemu_user(dev_server, lambda_emulator, tmp_path):
    qemu = shutil.which("qemu-aarch64-static")
    if not qemu:
        pytest.fail("no qemu-aarch64-static: apt-get install qemu-user-static")
    sysroot = ARM64_SYSROOT
    ldd = f"{qemu} -L {sysroot} {sysroot}/lib/ld-linux-aarch64.so.1 --list"
    zip_path = make_package(tmp_path, settings_files(tmp_path, dev_server.address),
                            build=Path(ARM64_BUILD), flags=["--sysroot", str(sysroot)],
                            env=dict(os.environ, LDD=ldd))
    root, modes, enter = make_jail(tmp_path, zip_path,
                                   extra={"usr/bin/qemu-aarch64-static": Path(qemu)})
    task = root / "var" / "task"
    for f in ("bin/bootstrap", "lib/ld-linux-aarch64.so.1", "lib/libc.so.6", "lib/libtlw.so.0",
              "lib/libgrpc.so.29"):
        head = (task / f).read_bytes()[:20]
        assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == EM_AARCH64, f
    text = (task / "bootstrap").read_text()
    assert '"$root/lib/ld-linux-aarch64.so.1" --library-path "$root/lib"' in text
    # Without binfmt_misc this kernel cannot exec an arm64 file, so the
    # function runs the bootstrap script's command through qemu-user.
    command = ["/usr/bin/qemu-aarch64-static", "/var/task/lib/ld-linux-aarch64.so.1",
               "--library-path", "/var/task/lib", "/var/task/bin/bootstrap"]
    check_print_config(enter, command, dev_server.address)
    _, maps = run_greeting(root, enter, command, dev_server, lambda_emulator, tmp_path,
                           "Graviton", timeout_s=15)
    inside = str(root.resolve())
    assert any(m.endswith("/var/task/lib/libc.so.6") for m in maps), maps
    assert all(m.startswith(inside + "/") for m in maps), sorted(maps)
