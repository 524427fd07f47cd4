"""The Deployments run the project's real entrypoints with real settings, and
carry the probes, security context, shutdown timing and scaling a platform
team expects."""

from __future__ import annotations

import argparse
import os
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from flowpilot import cli
from flowpilot.runtime.settings import SECRET_FIELDS, MigrationSettings, Settings
from gateway.app import LOCAL_READINESS_PATH
from tests.deploy.k8s import (
    OVERLAYS,
    RENDERABLE,
    REPO,
    SECRETS_ROOT,
    Obj,
    all_containers,
    by_kind,
    container_ports,
    effective_env,
    get,
    is_flowpilot,
    main_container,
    mounted_secrets,
    pod_spec,
    render,
    secret_refs,
    selector_matches,
    served_process,
    workloads,
)

SETTINGS_ENV = {f"FLOWPILOT_{name.upper()}": name for name in Settings.model_fields}
# The gRPC service each process registers, which its readiness probe asks for.
GRPC_SERVICES = {
    "fixes": "flowpilot.fixes.v1.FixesService",
    "scriptbuilder": "flowpilot.scriptbuilder.v1.ScriptBuilderService",
}
# Which Settings field holds each process's listening port, and its port name.
PORT_SETTING = {
    "fixes": ("fixes_grpc_port", "grpc"),
    "scriptbuilder": ("scriptbuilder_grpc_port", "grpc"),
    "gateway": ("http_port", "http"),
}
# Which gRPC targets each process dials, and the process behind each.
DIALS = {
    "fixes": {},
    "scriptbuilder": {"fixes_target": "fixes"},
    "gateway": {"fixes_target": "fixes", "scriptbuilder_target": "scriptbuilder"},
}


def flowpilot_deployments(path: str) -> dict[str, Obj]:
    """Process name -> the Deployment that serves it."""
    found: dict[str, Obj] = {}
    for workload in by_kind(render(path), "Deployment"):
        process = served_process(workload)
        assert process is not None, f"{workload['metadata']['name']} serves no flowpilot process"
        assert process not in found, f"two Deployments serve {process}"
        found[process] = workload
    return found


def migration_jobs(path: str) -> dict[str, Obj]:
    """Service name -> the Job that migrates its database."""
    found: dict[str, Obj] = {}
    for job in by_kind(render(path), "Job"):
        args = main_container(job)["args"]
        assert args[0] == "migrate", job["metadata"]["name"]
        assert args[1] not in found, f"two Jobs migrate {args[1]}"
        found[args[1]] = job
    return found


def settings_for(
    container: Obj,
    objs: list[Obj],
    monkeypatch: pytest.MonkeyPatch,
    workload: Obj,
    settings_class: type[Settings] = Settings,
) -> Settings:
    """Settings exactly as the container would load them: its environment, and
    its secret files written out the way the pod mounts them."""
    env = effective_env(container, objs)
    with tempfile.TemporaryDirectory() as secrets_root, monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("FLOWPILOT_"):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        if env.get("FLOWPILOT_SECRETS_DIR") == SECRETS_ROOT:
            patch.setenv("FLOWPILOT_SECRETS_DIR", secrets_root)
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        files = mounted_secrets(container, workload, objs)
        for mount in container.get("volumeMounts", []):
            if not mount["mountPath"].startswith(SECRETS_ROOT + "/"):
                continue
            directory = Path(secrets_root) / mount["mountPath"].removeprefix(SECRETS_ROOT + "/")
            directory.mkdir(parents=True)
            for source in volumes[mount["name"]]["projected"]["sources"]:
                for item in source["secret"]["items"]:
                    if item["path"] in files:
                        (directory / item["path"]).write_text(files[item["path"]])
        return settings_class()


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return f"overlays/{request.param}"


# --- entrypoints -------------------------------------------------------------


def test_console_script_is_flowpilot() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get("flowpilot") == "flowpilot.cli:main"


def test_every_process_is_deployed(overlay: str) -> None:
    assert set(flowpilot_deployments(overlay)) == set(cli.PROCESSES)


def _parse(args: list[str], where: str) -> argparse.Namespace:
    try:
        return cli.build_parser().parse_args(args)
    except SystemExit:  # argparse's way of rejecting arguments
        pytest.fail(f"{where}: `flowpilot {' '.join(args)}`")


def test_commands_are_real_cli_entrypoints(overlay: str) -> None:
    for process, deployment in flowpilot_deployments(overlay).items():
        (container,) = all_containers(deployment)
        assert container["command"] == ["flowpilot"], container["name"]
        args = _parse(container["args"], process)
        assert (args.command, args.process) == ("serve", process)
    for service, job in migration_jobs(overlay).items():
        (container,) = all_containers(job)
        assert container["command"] == ["flowpilot"]
        args = _parse(container["args"], job["metadata"]["name"])
        assert (args.command, args.service) == ("migrate", service)


def test_each_database_is_migrated_by_a_job_not_by_serving_pods(overlay: str) -> None:
    """Once per release, never `alembic upgrade` from a serving pod: a pod of
    an older ReplicaSet (rollback, scaling mid-rollout) must not meet a
    migration it does not know."""
    jobs = migration_jobs(overlay)
    assert set(jobs) == {p.name for p in cli.MIGRATED}
    for process, deployment in flowpilot_deployments(overlay).items():
        assert not pod_spec(deployment).get("initContainers"), process
    for service, job in jobs.items():
        spec = job["spec"]
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert 0 < spec["backoffLimit"] <= 5 and spec["activeDeadlineSeconds"] > 0
        annotations = job["metadata"].get("annotations", {})
        assert annotations.get("argocd.argoproj.io/hook") == "PreSync", service


def test_migration_jobs_see_only_their_database(overlay: str) -> None:
    """No JWT key, no other database: a compromised migration pod can mint
    nothing and read nothing else."""
    objs = render(overlay)
    for service, job in migration_jobs(overlay).items():
        (container,) = all_containers(job)
        url_env = cli.PROCESSES[service].url_env
        refs = secret_refs(container, job)
        assert set(refs) == {url_env}, refs
        env = effective_env(container, objs, job)
        assert not {f"FLOWPILOT_{f.upper()}" for f in SECRET_FIELDS} - {url_env} & set(env)


def test_only_the_owning_service_sees_a_database_url(overlay: str) -> None:
    url_envs = {p.url_env for p in cli.PROCESSES.values() if p.url_setting}
    for process, deployment in flowpilot_deployments(overlay).items():
        own = {cli.PROCESSES[process].url_env} if cli.PROCESSES[process].url_setting else set()
        for container in all_containers(deployment):
            env = effective_env(container, render(overlay), deployment)
            assert (url_envs & set(env)) == own, f"{process}/{container['name']}"


@pytest.mark.parametrize("path", RENDERABLE)
def test_secrets_are_files_never_environment_variables(path: str) -> None:
    """checkov CKV_K8S_35; files also keep secrets out of `kubectl describe`
    and out of every child process's environment."""
    for workload in workloads(render(path)):
        for container in all_containers(workload):
            if is_flowpilot(container):
                assert not secret_refs(container), container["name"]
                for source in container.get("envFrom", []):
                    assert "secretRef" not in source, container["name"]


def test_one_image_for_every_process(overlay: str) -> None:
    images = {
        c["image"] for d in flowpilot_deployments(overlay).values() for c in all_containers(d)
    }
    assert len(images) == 1, images
    (image,) = images
    if overlay == "overlays/prod":
        assert "@sha256:" in image or (":" in image and not image.endswith(":latest")), image


# --- settings ----------------------------------------------------------------


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_flowpilot_variable_is_a_setting(path: str) -> None:
    objs = render(path)
    names: set[str] = set()
    for workload in workloads(objs):
        for container in all_containers(workload):
            names |= {v["name"] for v in container.get("env", [])}
    for config_map in by_kind(objs, "ConfigMap"):
        names |= set(config_map.get("data") or {})
    unknown = {n for n in names if n.startswith("FLOWPILOT_")} - set(SETTINGS_ENV)
    assert not unknown, f"not fields of Settings: {sorted(unknown)}"


def test_settings_load_in_every_container(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = render(overlay)
    for process, deployment in flowpilot_deployments(overlay).items():
        container = main_container(deployment)
        settings = settings_for(container, objs, monkeypatch, deployment)
        assert settings.bind_host == "0.0.0.0", process
        assert settings.jwt_secret or settings.jwt_public_key, f"{process}: no JWT key"
        assert str(settings.data_dir).startswith("/tmp/"), f"{process}: data dir not writable"
        spec = cli.PROCESSES[process]
        if spec.url_setting:
            assert spec.database_url(settings), f"{process}: no database URL"
    for service, job in migration_jobs(overlay).items():
        settings = settings_for(main_container(job), objs, monkeypatch, job, MigrationSettings)
        assert cli.PROCESSES[service].database_url(settings), service
        assert not (settings.jwt_secret or settings.jwt_public_key), f"{service} Job: a JWT key"


def test_prod_processes_only_verify_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity provider signs; no prod pod holds a key that can mint a
    token, and only the script-builder (the proposal relay) holds the service
    token it presents on internal calls."""
    objs = render("overlays/prod")
    for process, deployment in flowpilot_deployments("overlays/prod").items():
        settings = settings_for(main_container(deployment), objs, monkeypatch, deployment)
        assert settings.jwt_public_key and not settings.jwt_secret, process
        assert bool(settings.service_token) == (process == "scriptbuilder"), process
        refs = set(secret_refs(main_container(deployment), deployment))
        assert "FLOWPILOT_JWT_SECRET" not in refs and "FLOWPILOT_JWT_PREVIOUS_SECRET" not in refs


def test_dev_secret_changes_roll_the_pods() -> None:
    """dev's Secrets are generated with a content hash in their names, so a
    new value is a new name in every pod template: a rollout."""
    objs = render("overlays/dev")
    generated = {s["metadata"]["name"] for s in by_kind(objs, "Secret")}
    for workload in workloads(objs):
        for container in all_containers(workload):
            for secret, _ in secret_refs(container, workload).values():
                if secret.startswith("flowpilot-openai"):
                    continue  # optional, created by the operator when wanted
                assert secret in generated and secret.rsplit("-", 1)[1].isalnum(), secret


def test_dev_database_urls_point_at_the_dev_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    objs = render("overlays/dev")
    service = get(objs, "Service", "flowpilot-postgres")
    port = service["spec"]["ports"][0]["port"]
    for process, deployment in flowpilot_deployments("overlays/dev").items():
        spec = cli.PROCESSES[process]
        if not spec.url_setting:
            continue
        settings = settings_for(main_container(deployment), objs, monkeypatch, deployment)
        url = urlsplit(spec.database_url(settings) or "")
        assert (url.hostname, url.port) == ("flowpilot-postgres", port)


def test_ports_are_the_settings_ports(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Container ports equal what the process will bind (Settings default or
    the manifest's override), and Services expose them by name."""
    objs = render(overlay)
    for process, deployment in flowpilot_deployments(overlay).items():
        field, port_name = PORT_SETTING[process]
        settings = settings_for(main_container(deployment), objs, monkeypatch, deployment)
        ports = container_ports(deployment)
        assert set(ports) == {port_name, "metrics"}, f"{process}: ports {ports}"
        assert ports[port_name][0] == getattr(settings, field), process
        # /metrics, scraped from the pod by the monitoring component's PodMonitor.
        assert ports["metrics"][0] == getattr(settings, f"{process}_metrics_port"), process
        service = get(objs, "Service", deployment["metadata"]["name"])
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector_matches({"matchLabels": service["spec"]["selector"]}, labels)
        assert [p["name"] for p in service["spec"]["ports"]] == [port_name]
        assert service["spec"]["ports"][0]["targetPort"] == port_name


def test_grpc_targets_use_headless_services_and_dns(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients resolve every pod (headless Service, dns:///) and round_robin."""
    objs = render(overlay)
    deployments = flowpilot_deployments(overlay)
    for process, dials in DIALS.items():
        deployment = deployments[process]
        settings = settings_for(main_container(deployment), objs, monkeypatch, deployment)
        assert settings.grpc_max_connection_age_seconds < 600, "connections must age out"
        for field, target_process in dials.items():
            target = getattr(settings, field)
            assert target.startswith("dns:///"), f"{process}: {field}={target}"
            host, _, port = target.removeprefix("dns:///").rpartition(":")
            service = get(objs, "Service", host.split(".")[0])
            assert service["spec"].get("clusterIP") == "None", f"{host} must be headless"
            assert int(port) == service["spec"]["ports"][0]["port"]
            backend = deployments[target_process]
            assert service["metadata"]["name"] == backend["metadata"]["name"]
            assert int(port) == container_ports(backend)["grpc"][0]


# --- probes ------------------------------------------------------------------


def test_probes_point_at_real_ports(overlay: str) -> None:
    for process, deployment in flowpilot_deployments(overlay).items():
        container = main_container(deployment)
        ports = {c["name"]: c["containerPort"] for c in container["ports"]}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            assert probe, f"{process}: no {kind}"
            if process in GRPC_SERVICES:
                # gRPC probes take a number; it must be the port named grpc.
                assert "grpc" in probe, f"{process}: {kind} is not a native gRPC probe"
                assert probe["grpc"]["port"] == ports["grpc"]
            else:
                assert probe["httpGet"]["port"] in ports, f"{process}: {kind} port"
        if process in GRPC_SERVICES:
            service = container["readinessProbe"]["grpc"].get("service")
            assert service in (None, "", GRPC_SERVICES[process])
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
            # Process-local: readiness must not depend on the services.
            assert container["readinessProbe"]["httpGet"]["path"] == LOCAL_READINESS_PATH


def test_readiness_service_names_exist_in_the_protos() -> None:
    from flowpilot.fixes.v1 import fixes_pb2
    from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2

    names = {
        s.full_name
        for module in (fixes_pb2, scriptbuilder_pb2)
        for s in module.DESCRIPTOR.services_by_name.values()
    }
    assert set(GRPC_SERVICES.values()) <= names


# --- security ----------------------------------------------------------------


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_container_is_hardened(path: str) -> None:
    for workload in workloads(render(path)):
        spec = pod_spec(workload)
        pod_ctx = spec.get("securityContext", {})
        name = workload["metadata"]["name"]
        assert spec.get("automountServiceAccountToken") is False, name
        assert spec.get("enableServiceLinks") is False, name
        assert spec.get("serviceAccountName") == name, name
        assert pod_ctx.get("runAsUser", 0) != 0, name
        for container in all_containers(workload):
            ctx = container.get("securityContext", {})
            where = f"{name}/{container['name']}"
            assert ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("privileged", False) is False, where
            assert "ALL" in ctx.get("capabilities", {}).get("drop", []), where
            assert not ctx.get("capabilities", {}).get("add"), where
            seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile", {}))
            assert seccomp.get("type") == "RuntimeDefault", where
            assert container.get("resources", {}).get("requests"), f"{where}: no requests"
            assert container.get("resources", {}).get("limits", {}).get("memory"), where
            if is_flowpilot(container):
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                volumes = {v["name"]: v for v in spec.get("volumes", [])}
                assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp emptyDir"


def test_service_accounts_exist(overlay: str) -> None:
    objs = render(overlay)
    for workload in workloads(objs):
        account = get(objs, "ServiceAccount", pod_spec(workload)["serviceAccountName"])
        assert account.get("automountServiceAccountToken") is False


# --- shutdown ----------------------------------------------------------------


def prestop_seconds(container: Obj) -> int:
    pre_stop = container.get("lifecycle", {}).get("preStop")
    assert pre_stop, f"{container['name']}: no preStop pause"
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = pre_stop["exec"]["command"]
    assert command[0] in ("sleep", "/bin/sleep"), command
    return int(command[1])


def test_grace_period_arithmetic(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """preStop pause + the app's gRPC/HTTP grace < terminationGracePeriodSeconds,
    so the kubelet never SIGKILLs a process that is still draining."""
    objs = render(overlay)
    for process, deployment in flowpilot_deployments(overlay).items():
        container = main_container(deployment)
        grace = settings_for(container, objs, monkeypatch, deployment).shutdown_grace_seconds
        pause = prestop_seconds(container)
        budget = pod_spec(deployment).get("terminationGracePeriodSeconds", 30)
        assert pause > 0 and grace > 0
        assert pause + grace < budget, f"{process}: {pause} + {grace} >= {budget}"


# --- scaling -----------------------------------------------------------------


def test_dev_runs_one_replica_each() -> None:
    objs = render("overlays/dev")
    assert not by_kind(objs, "HorizontalPodAutoscaler")
    for workload in by_kind(objs, "Deployment") + by_kind(objs, "StatefulSet"):
        assert workload["spec"].get("replicas") == 1, workload["metadata"]["name"]
    postgres = get(objs, "StatefulSet", "flowpilot-postgres")
    assert postgres["spec"]["volumeClaimTemplates"], "dev PostgreSQL needs a PVC"


def test_prod_autoscales_from_two() -> None:
    objs = render("overlays/prod")
    assert not by_kind(objs, "StatefulSet"), "prod uses an external PostgreSQL"
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(objs, "HorizontalPodAutoscaler")
    }
    for process, deployment in flowpilot_deployments("overlays/prod").items():
        name = deployment["metadata"]["name"]
        assert name in hpas, f"{process}: no HPA"
        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
        # The HPA owns the count; a fixed one would be reset on every apply.
        assert "replicas" not in deployment["spec"], name


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_deployment_has_a_pdb(path: str) -> None:
    objs = render(path)
    pdbs = by_kind(objs, "PodDisruptionBudget")
    for deployment in by_kind(objs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs if selector_matches(p["spec"]["selector"], labels)]
        assert len(matching) == 1, deployment["metadata"]["name"]
        # maxUnavailable lets a single-replica dev cluster still drain nodes.
        assert matching[0]["spec"].get("maxUnavailable") == 1


# PostgreSQL's default max_connections (100) less superuser_reserved_connections (3):
# what the application may use when both databases share a default server.
DEFAULT_CONNECTION_LIMIT = 97
# The totals deploy/README.md states ("Connection budget"); recomputed below.
DOCUMENTED_PEAK_CONNECTIONS = {
    "overlays/dev": 35,
    "overlays/prod": 92,
    "composed/prod-pgbouncer": 90,
}
# Besides its pool, a fixes pod keeps one LISTEN connection (live updates).
LISTENERS = {"fixes": 1}
# With PgBouncer the listeners go through a session-pooling entry whose
# `max_db_connections` deploy/README.md tells operators to set (databases.ini
# is theirs, a Secret, so it is not rendered here).
LISTEN_ENTRY_CONNECTIONS = 5


def _pgbouncer_server_connections(objs: list[Obj]) -> int | None:
    """Replicas x databases x max_db_connections of a rendered PgBouncer, if any."""
    configs = [c for c in by_kind(objs, "ConfigMap") if "pgbouncer.ini" in c.get("data", {})]
    if not configs:
        return None
    ini = configs[0]["data"]["pgbouncer.ini"]
    limit = next(
        int(line.split("=")[1])
        for line in ini.splitlines()
        if line.startswith("max_db_connections")
    )
    replicas = get(objs, "Deployment", "flowpilot-pgbouncer")["spec"]["replicas"]
    return replicas * (len(cli.MIGRATED) * limit + LISTEN_ENTRY_CONNECTIONS)


def peak_connections(path: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Connections PostgreSQL may see at once: for each service, every pod the
    HPA may run plus the rollout's surge pod plus one still draining, times
    pool + overflow, plus one per migration Job; with PgBouncer, what its
    replicas may open instead."""
    objs = render(path)
    if (bounded := _pgbouncer_server_connections(objs)) is not None:
        return bounded
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(objs, "HorizontalPodAutoscaler")
    }
    total = len(migration_jobs(path))
    for process, deployment in flowpilot_deployments(path).items():
        if not cli.PROCESSES[process].url_setting:
            continue
        name = deployment["metadata"]["name"]
        replicas = (
            hpas[name]["spec"]["maxReplicas"] if name in hpas else deployment["spec"]["replicas"]
        )
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        settings = settings_for(main_container(deployment), objs, monkeypatch, deployment)
        per_pod = settings.db_pool_size + settings.db_max_overflow + LISTENERS.get(process, 0)
        total += (replicas + surge + 1) * per_pod
    return total


@pytest.mark.parametrize("path", sorted(DOCUMENTED_PEAK_CONNECTIONS))
def test_connection_budget_fits_a_default_postgresql(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    peak = peak_connections(path, monkeypatch)
    assert peak == DOCUMENTED_PEAK_CONNECTIONS[path], "update deploy/README.md and this table"
    assert peak <= DEFAULT_CONNECTION_LIMIT, f"{path}: {peak} connections at peak"
    budget = (REPO / "deploy/README.md").read_text().split("## Connection budget", 1)[1]
    assert f"**{peak}**" in budget.split("\n## ", 1)[0], f"deploy/README.md: {path} = {peak}"


@pytest.mark.parametrize("path", RENDERABLE)
def test_spread_ignores_other_revisions(path: str) -> None:
    """matchLabelKeys [pod-template-hash]: during a rollout the old
    ReplicaSet's pods do not skew where the new ones go."""
    for deployment in by_kind(render(path), "Deployment"):
        constraints = pod_spec(deployment).get("topologySpreadConstraints", [])
        assert constraints, deployment["metadata"]["name"]
        for constraint in constraints:
            assert "pod-template-hash" in constraint.get("matchLabelKeys", [])


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


@pytest.mark.parametrize("path", RENDERABLE)
def test_memory_is_reserved_and_cpu_is_one_core_at_most(path: str) -> None:
    """Memory request = limit (no overcommit); CPU limit at most one core: a
    Python process uses one (the GIL)."""
    for workload in workloads(render(path)):
        for container in all_containers(workload):
            if not is_flowpilot(container):
                continue
            resources = container["resources"]
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert resources["requests"]["memory"] == resources["limits"]["memory"], where
            assert _cpu(resources["limits"]["cpu"]) <= 1, where
