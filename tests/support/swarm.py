"""The production stack on Docker Swarm (docker-stack.yml), deployed the way operators do.

``swarm_stack`` deploys with ``bin/swarm-deploy`` on a single-node swarm:
the one this Docker Engine is part of, or one made for the test and left
again afterwards (a swarm the machine was in before is never left). The
images are the compose stack's, built as for the other stack tests, then
tagged for this stack alone, so each deploy of a "new version" is a new tag.

Two settings differ from Swarm's defaults, because this engine has no
virtual-IP load balancer or routing mesh (a restriction of the machine, not
of the stack): SWARM_ENDPOINT_MODE=dnsrr and SWARM_PUBLISH_MODE=host.

``SwarmStack`` answers the same calls as ``tests.support.stack.Stack``
(clients, chat, ``manage``, ``psql``), running commands in a service's
container with ``docker exec``.
"""

import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .prerequisites import stack_problem
from .stack import BOOT_TIMEOUT, PROJECT_LABEL, PROJECT_PREFIX, Stack, build_images, make_env, project_name
from .system import REPO, wait_until

STACK_LABEL = "com.docker.stack.namespace"
APP_IMAGES = ("educa",)
SERVICE_IMAGES = ("educa-nginx", "educa-postgres", "educa-acme")


def docker(*args, check=True, timeout=120, **options):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **options)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def swarm_state():
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


@dataclass
class SwarmStack(Stack):
    """A stack deployed on the swarm; ``project`` is the stack's name."""

    tags: list = field(default_factory=list)

    def service(self, name):
        return f"{self.project}_{name}"

    def container(self, service):
        """The id of a running container of ``service`` (any of them, when it has several)."""
        ids = self.containers_of(service)
        assert ids, f"no running container of {self.service(service)}\n{self.logs(service)}"
        return ids[0]

    def containers_of(self, service):
        """The ids of the running containers of ``service``."""
        return docker(
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.swarm.service.name={self.service(service)}",
        ).stdout.split()

    def exec(self, service, *command, check=True, env=None):
        options = [option for name, value in (env or {}).items() for option in ("-e", f"{name}={value}")]
        return docker("exec", *options, self.container(service), *command, check=check)

    def logs(self, *services, tail=80):
        return "".join(
            docker(
                "service", "logs", "--no-task-ids", "--tail", str(tail), self.service(name), check=False
            ).stdout
            for name in services or ("web", "daphne", "migrate", "nginx")
        )

    def deploy(self, tag, timeout=BOOT_TIMEOUT, **settings):
        """``bin/swarm-deploy`` with the application image ``educa:<tag>``; returns the finished process."""
        self.env.update(EDUCA_TAG=tag, **settings)
        self.write_env()
        return subprocess.run(
            [
                str(self.checkout / "bin" / "swarm-deploy"),
                "--env-file",
                str(self.env_file),
                "--stack",
                self.project,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def write_env(self):
        # read by the shell: every value quoted
        self.env_file.write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in self.env.items()))

    def tag_images(self, tag, images, source="latest"):
        for image in images:
            docker("tag", f"{image}:{source}", f"{image}:{tag}")
            self.tags.append(f"{image}:{tag}")

    def tasks(self, service):
        """The tasks of a service as dicts (image, desired and current state, error)."""
        lines = docker(
            "service", "ps", "--no-trunc", "--format", "{{json .}}", self.service(service)
        ).stdout.splitlines()
        return [json.loads(line) for line in lines]

    def running_images(self, service):
        return sorted(task["Image"] for task in self.tasks(service) if task["DesiredState"] == "Running")

    def replicas(self, service):
        return docker(
            "service", "ls", "--filter", f"name={self.service(service)}", "--format", "{{.Replicas}}"
        ).stdout

    def remove(self):
        remove_swarm_stack(self.project)
        for tag in self.tags:
            docker("rmi", tag, check=False)


def remove_swarm_stack(name):
    """Remove a stack and everything it made: services, networks, secrets, configs and volumes."""
    docker("stack", "rm", name, check=False)
    label = f"label={STACK_LABEL}={name}"
    # Networks and volumes go once the containers are gone, which takes their
    # grace periods; stopped ones Swarm keeps as task history are removed here.
    wait_until(
        lambda: not docker("ps", "-q", "--filter", label).stdout.strip(),
        120,
        f"the containers of stack {name} stopped",
        pause=1,
    )
    stopped = docker("ps", "-aq", "--filter", label).stdout.split()
    if stopped:
        docker("rm", "-f", "-v", *stopped, check=False)
    for kind in ("network", "volume", "secret", "config"):
        names = docker(kind, "ls", "-q", "--filter", label, check=False).stdout.split()
        if names:
            wait_until(
                lambda kind=kind, names=names: (
                    docker(kind, "rm", *names, check=False).returncode == 0
                    or not docker(kind, "ls", "-q", "--filter", label, check=False).stdout.strip()
                ),
                60,
                f"the {kind}s of stack {name} removed",
                pause=1,
            )


class SingleNodeSwarm:
    """This engine as a swarm manager for the duration; ``leave()`` undoes only what ``join()`` did."""

    # the bridge Docker makes for a swarm's containers, and keeps after leaving it
    BRIDGE = "docker_gwbridge"

    def __init__(self):
        self.made = False
        self.labelled = False
        self.made_bridge = False

    def join(self):
        state = swarm_state()
        if state == "inactive":
            if sibling_networks():
                # the other processes of this run (pytest-xdist) finish their
                # last modules and take their stacks down; then the swarm may come
                waited = wait_until(
                    lambda: not sibling_networks(), 1800, "the other test processes' stacks gone", pause=5
                )
                print(f"\nwaited {waited:.0f}s for the other test processes' stacks to go")
            others = [name for name, _ in networks_of_others()]
            if others:
                pytest.fail(
                    "the swarm test makes this engine a swarm and leaves it again, and a Docker "
                    "Engine that leaves a swarm stops resolving container names on the bridge "
                    "networks that exist at that moment (moby/moby#45144); these networks have "
                    f"running containers: {', '.join(others)}. Stop them, or deselect this test "
                    "with -m 'not swarm'",
                    pytrace=False,
                )
            self.made_bridge = docker("network", "inspect", self.BRIDGE, check=False).returncode != 0
            docker("swarm", "init", "--advertise-addr", "127.0.0.1")
            self.made = True
        elif docker("info", "--format", "{{.Swarm.ControlAvailable}}").stdout.strip() != "true":
            pytest.fail(f"this Docker Engine is in a swarm ({state}) but not a manager", pytrace=False)
        self.labelled = not docker(
            "node", "ls", "-q", "--filter", "node.label=educa.data=true"
        ).stdout.strip()

    def leave(self):
        if self.made:
            docker("swarm", "leave", "--force", check=False)
            if self.made_bridge:
                docker("network", "rm", self.BRIDGE, check=False)
        elif self.labelled:
            # bin/swarm-deploy labelled this node: take the label away again
            node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
            docker("node", "update", "--label-rm", "educa.data", node, check=False)


def networks_of_others():
    """User-defined bridge networks with containers on them that are not this process's.

    Each as (name, process id of the test run that made it, or None).
    """
    ours = f"{PROJECT_PREFIX}{os.getpid()}-"
    owner = re.compile(rf"^{re.escape(PROJECT_PREFIX)}(\d+)-")
    names = docker("network", "ls", "--filter", "driver=bridge", "--format", "{{.Name}}").stdout.split()
    others = []
    for name in names:
        if name in ("bridge", SingleNodeSwarm.BRIDGE):
            continue
        inspected = docker("network", "inspect", name, check=False)
        if inspected.returncode != 0:
            continue  # removed meanwhile
        network = json.loads(inspected.stdout)[0]
        project = (network.get("Labels") or {}).get(PROJECT_LABEL, "")
        if network.get("Containers") and not project.startswith(ours):
            found = owner.match(project)
            others.append((name, int(found[1]) if found else None))
    return others


def sibling_networks():
    return [name for name, pid in networks_of_others() if same_run(pid)]


def same_run(pid):
    """Whether ``pid`` is another worker of this pytest-xdist run (they share a parent)."""
    if pid is None or "PYTEST_XDIST_WORKER" not in os.environ:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # the fields after the command's closing parenthesis: state, parent id, ...
    return int(stat.rsplit(")", 1)[1].split()[1]) == os.getppid()


def build_swarm_images(workdir, project):
    """Build the stack's images as the compose stack does (cached after the first stack test)."""
    env_file, _ = make_env(workdir, project)
    build_images(
        ["docker", "compose", "--env-file", str(env_file), "-f", str(REPO / "docker-compose.yml"), "build"],
        REPO,
    )


def deploy_swarm_stack(workdir, **overrides):
    """Build, tag and deploy a fresh stack on the swarm; the caller must ``remove()`` it."""
    problem = stack_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    name = project_name()
    build_swarm_images(workdir, name)
    env_file, values = make_env(
        workdir,
        name,
        SWARM_ENDPOINT_MODE="dnsrr",
        SWARM_PUBLISH_MODE="host",
        **overrides,
    )
    values.pop("COMPOSE_PROJECT_NAME")
    stack = SwarmStack(project=name, env_file=Path(env_file), workdir=Path(workdir), env=values)
    first = f"{name}-1"
    stack.tag_images(first, APP_IMAGES + SERVICE_IMAGES)
    started = time.monotonic()
    try:
        deployed = stack.deploy(first, EDUCA_SERVICES_TAG=first)
        assert deployed.returncode == 0, f"{deployed.stdout[-4000:]}\n{deployed.stderr}\n{stack.logs()}"
        stack.fetch_certificate()
        stack.wait_ready()
    except BaseException:
        stack.remove()
        raise
    print(f"\nswarm stack {name} ready in {time.monotonic() - started:.1f}s on {stack.base_url}")
    return stack
