"""``PlatformPodOperator``: the KubernetesPodOperator DAG authors use, configured by profiles and image files.

Parsing a DAG only stores names (profile, image, secrets, datasets) and checks the naming rules;
``execute()`` reads the profile and image files, validates everything and then either hands the
pod to the provider operator (target ``aws``) or runs the same command as a local process
(target ``local``).
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    AirflowTaskTimeout,
    conf,
)

from data_platform.pod.naming import (
    check_identifier,
    check_owner,
    check_task_id,
    pod_base_name,
    safe_label_value,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from data_platform.process import LocalProcess
    from data_platform.settings import PlatformSettings

# Operator arguments that come from the profile; a task may not set them.
PROFILE_MANAGED = frozenset(
    {
        "namespace",
        "service_account_name",
        "node_selector",
        "affinity",
        "tolerations",
        "startup_timeout_seconds",
        "schedule_timeout_seconds",
        "on_finish_action",
        "on_kill_action",
        "deferrable",
        "kubernetes_conn_id",
        "in_cluster",
        "config_file",
        "cluster_context",
        "name",
        "random_name_suffix",
        "full_pod_spec",
        "pod_template_file",
        "pod_template_dict",
    }
)
# The job writes its XCom return value (JSON) to the file named by this variable; on Kubernetes
# that is the provider's sidecar path.
XCOM_RETURN_ENV = "POD_XCOM_RETURN_FILE"
POD_XCOM_RETURN_PATH = "/airflow/xcom/return.json"
LOCAL_GRACE_PERIOD_SECONDS = 10


class PlatformPodOperator(KubernetesPodOperator):
    """Run a command in a container image with a named pod profile.

    :param profile: profile name, a file in ``include/pod/profiles/`` (``small``, ``spark-driver``...).
    :param image: logical image name from ``include/pod/images.yaml``.
    :param cmds: entrypoint (templated); ``python`` runs this interpreter on the local target.
    :param arguments: arguments (templated).
    :param secrets: logical secret names (``["jira"]``); the job gets ``JIRA_CONN`` (connection JSON).
    :param inputs: datasets the job reads (``lake:...``, ``warehouse:schema.table``, ``s3://...``), for lineage.
    :param outputs: datasets the job writes, same forms.
    :param container_resources: ``{"requests": {...}, "limits": {...}}`` merged over the profile's.
    :param team: team label (lowercase, ``-``); usually set once in the DAG's ``default_args``.
    :param pipeline: pipeline label (lowercase, ``-``); usually set in ``default_args``.
    :param fail_on_exit_code: exit codes that mean "retrying cannot help" (bad arguments, config
        or connection): the task fails without its retries (``AirflowFailException``). The
        counterpart of the provider's ``skip_on_exit_code``; both targets honour it.
    :param kwargs: other KubernetesPodOperator / BaseOperator arguments (``env_vars``,
        ``do_xcom_push``, ``execution_timeout``, ``retries``...), except those a profile sets.
    """

    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        profile: str,
        image: str,
        cmds: list[str] | None = None,
        arguments: list[str] | None = None,
        secrets: Sequence[str] = (),
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
        container_resources: Mapping[str, Mapping[str, str]] | None = None,
        team: str | None = None,
        pipeline: str | None = None,
        fail_on_exit_code: int | Sequence[int] = (),
        **kwargs: Any,
    ) -> None:
        managed = sorted(PROFILE_MANAGED.intersection(kwargs))
        if managed:
            raise TypeError(
                f"PlatformPodOperator {kwargs.get('task_id')!r}: {', '.join(managed)} come(s) from the pod profile; "
                "pick another profile or add one in include/pod/profiles/ instead of setting it per task."
            )
        super().__init__(cmds=cmds, arguments=arguments, **kwargs)
        check_task_id(self.task_id)
        how = "pass {0}='...' to the task or set it in the DAG's default_args"
        self.team = check_identifier("team", team, how_to_set=how.format("team"))
        self.pipeline = check_identifier("pipeline", pipeline, how_to_set=how.format("pipeline"))
        check_owner(self.owner, conf.get("operators", "default_owner", fallback="airflow"))
        self.profile_name = profile
        self.image_name = image
        self.secret_names = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        self.inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        self.outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        self.resource_overrides = dict(container_resources or {})
        self.fail_on_exit_code = (
            (fail_on_exit_code,) if isinstance(fail_on_exit_code, int) else tuple(fail_on_exit_code)
        )
        self._prepared = False
        self._prepared_env_vars: list[Any] = []
        self._local_process: LocalProcess | None = None

    # -- resolution and validation (run time) -------------------------------------------------

    def _fail(self, problem: object) -> AirflowFailException:
        # Configuration errors do not heal on retry: fail without retrying.
        return AirflowFailException(f"PlatformPodOperator {self.task_id!r}: {problem}")

    def _prepare(self, settings: PlatformSettings) -> None:
        """Resolve profile, image, resources, secrets and labels onto the provider's attributes."""
        if self._prepared:
            return
        from airflow.providers.cncf.kubernetes.utils.pod_manager import OnFinishAction, OnKillAction

        from data_platform.config import ConfigError
        from data_platform.pod.images import DEFAULT_MAX_AGE_DAYS, get_image
        from data_platform.pod.lineage import check_reference
        from data_platform.pod.lineage_env import transport_env
        from data_platform.pod.profiles import deep_merge, get_profile, kubernetes_objects
        from data_platform.pod.resources import check_resources, to_kubernetes
        from data_platform.pod.secret_refs import pod_secrets

        try:
            profile = get_profile(self.profile_name)
            image = get_image(self.image_name)
            resources = check_resources(deep_merge(profile.resources, self.resource_overrides))
            for field, refs in (("inputs", self.inputs), ("outputs", self.outputs)):
                for index, ref in enumerate(refs):
                    check_reference(f"{field}[{index}]", ref)
            secrets = pod_secrets(self.secret_names, settings)
            env_vars = self._pod_env_vars(transport_env(settings))
            labels = self._pod_labels(profile.name, profile.labels)
            affinity, tolerations = kubernetes_objects(profile)
        except (ConfigError, ValueError) as err:
            raise self._fail(err) from None

        age = image.age_days(date.today())
        if age > DEFAULT_MAX_AGE_DAYS:
            self.log.warning(
                "Image %r was built %s (%d days ago), past the monthly refresh policy; rebuild it.",
                image.name,
                image.built,
                age,
            )
        self.image = image.reference
        self.namespace = profile.namespace
        self.service_account_name = profile.service_account
        self.node_selector = dict(profile.node_selector)
        self.affinity = affinity or {}
        self.tolerations = tolerations
        self.container_resources = to_kubernetes(resources)
        self.startup_timeout_seconds = profile.startup_timeout_seconds
        self.schedule_timeout_seconds = profile.startup_timeout_seconds
        self.on_finish_action = OnFinishAction(profile.on_finish_action)
        self.on_kill_action = OnKillAction(profile.on_kill_action)
        self.deferrable = profile.deferrable
        for attribute, value in profile.cluster.operator_kwargs().items():
            setattr(self, attribute, value)
        self.secrets = secrets
        self.labels = labels
        self.annotations = {**profile.annotations, **(self.annotations or {})}
        self.name = pod_base_name(self.dag_id, self.task_id)
        self.random_name_suffix = True
        self.env_vars = self._prepared_env_vars = env_vars
        self._prepared = True

    def _pod_env_vars(self, lineage: Mapping[str, str]) -> list[Any]:
        """The task's env_vars as ``V1EnvVar``s, checked against the secrets' variables, plus
        the OpenLineage transport variables ``lineage`` the task does not set itself."""
        from airflow.providers.cncf.kubernetes.backcompat.backwards_compat_converters import (
            convert_env_vars_or_raise_error,
        )
        from kubernetes.client import models as k8s

        from data_platform.pod.secret_refs import env_var_name
        from data_platform.url_credentials import url_credentials

        env_vars = list(convert_env_vars_or_raise_error(self.env_vars)) if self.env_vars else []
        clashes = sorted({var.name for var in env_vars} & {env_var_name(n) for n in self.secret_names})
        if clashes:
            raise ValueError(
                f"env_vars {', '.join(clashes)} clash with the variables of secrets=; rename them."
            )
        for var in env_vars:
            found = url_credentials(var.value) if var.value else []
            if found:
                raise ValueError(
                    f"env_vars: {var.name} holds a URL with a password or another credential: "
                    f"{'; '.join(found)}. Secrets never go into env_vars (they are rendered and shown "
                    "with the task): pass the connection with secrets=[...] instead."
                )
        if self.do_xcom_push:
            env_vars.append(k8s.V1EnvVar(name=XCOM_RETURN_ENV, value=POD_XCOM_RETURN_PATH))
        return _with_missing(env_vars, lineage)

    def _pod_labels(self, profile_name: str, profile_labels: Mapping[str, str]) -> dict[str, str]:
        required = {
            "team": self.team,
            "pipeline": self.pipeline,
            "owner": safe_label_value(self.owner),
            "dag_id": safe_label_value(self.dag_id),
            "task_id": safe_label_value(self.task_id),
            "profile": profile_name,
        }
        from data_platform.pod.profiles import check_labels

        task_labels = check_labels(dict(self.labels or {}))
        clashes = sorted(set(task_labels) & set(required))
        if clashes:
            raise ValueError(
                f"labels: {', '.join(clashes)} are set by the platform; remove them from labels=."
            )
        return {**profile_labels, **task_labels, **required}

    def _plain_env_vars(self) -> dict[str, str]:
        """The prepared env_vars as a plain mapping (a value_from has no local equivalent)."""
        plain: dict[str, str] = {}
        prepared: list[Any] = list(self.env_vars)  # V1EnvVars once prepared
        for var in prepared:
            if var.value_from is not None:
                raise ValueError(
                    f"env_vars: {var.name} uses value_from; pass a plain value (or a secret via secrets=)."
                )
            plain[var.name] = "" if var.value is None else str(var.value)
        return plain

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False):
        """The pod the provider would create; also works without a cluster (``dry_run=True``).
        Given the run's ``context``, the pod gets the task run as OpenLineage parent
        (``OPENLINEAGE_PARENT_ID``, data_platform.pod.lineage_env)."""
        from data_platform.pod.lineage_env import parent_env
        from data_platform.settings import get_settings

        self._prepare(get_settings())
        if context is not None:
            self.env_vars = _with_missing(self._prepared_env_vars, parent_env(context))
        return super().build_pod_request_obj(context, dry_run=dry_run)

    # -- execution ------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        from data_platform.settings import get_settings

        settings = get_settings()
        self._prepare(settings)
        if settings.is_local:
            return self._execute_locally(settings, context)
        return super().execute(context)

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        # A deferred task resumes on a fresh operator: resolve the profile again first.
        from data_platform.settings import get_settings

        self._prepare(get_settings())
        return super().trigger_reentry(context, event)

    def _execute_locally(self, settings: PlatformSettings, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import redact

        from data_platform.config import ConfigError
        from data_platform.paths import REPO_ROOT
        from data_platform.pod.lineage_env import parent_env
        from data_platform.pod.local_runner import local_command, local_environment
        from data_platform.pod.secret_refs import local_secret_env
        from data_platform.process import LocalProcess

        try:
            argv = local_command(self.cmds, self.arguments)
            task_env = {**parent_env(context), **self._plain_env_vars()}
            secret_env = local_secret_env(self.secret_names, settings)
        except (ConfigError, ValueError) as err:
            raise self._fail(err) from None

        with tempfile.TemporaryDirectory(prefix="pod-task-") as workdir:
            xcom_file = Path(workdir) / "return.json"
            extra = {XCOM_RETURN_ENV: str(xcom_file)} if self.do_xcom_push else {}
            timeout = self.execution_timeout.total_seconds() if self.execution_timeout else None
            process = LocalProcess(
                argv,
                env=local_environment({**task_env, **secret_env, **extra}),
                log=self.log,
                timeout=timeout,
                grace_period=self.termination_grace_period or LOCAL_GRACE_PERIOD_SECONDS,
                cwd=REPO_ROOT,
                redact=lambda line: str(redact(line)),
            )
            self.log.info(
                "Target local: running %s (profile %s, image %s) as a local process",
                shlex.join(argv),
                self.profile_name,
                self.image_name,
            )
            self._local_process = process
            try:
                result = process.run()
            finally:
                self._local_process = None
            last_lines = "\n".join(result.tail) or "(no output)"
            if result.timed_out:
                raise AirflowTaskTimeout(
                    f"PlatformPodOperator {self.task_id!r} ran longer than execution_timeout ({timeout:g}s); its "
                    f"process group was killed. Last output lines:\n{last_lines}"
                )
            if result.killed:
                raise AirflowException(
                    f"PlatformPodOperator {self.task_id!r} was killed; its process group was terminated."
                )
            if (
                self.do_xcom_push
                and result.returncode != 0
                and xcom_file.is_file()
                and xcom_file.stat().st_size
            ):
                # As the provider's cleanup does on EKS: what the job wrote before failing is pushed.
                self._push_xcom_with_fan_out(context["ti"], json.loads(xcom_file.read_text()))
            if result.returncode in self.skip_on_exit_code:
                raise AirflowSkipException(
                    f"Command exited with code {result.returncode} (skip_on_exit_code)."
                )
            if result.returncode in self.fail_on_exit_code:
                raise self._fail(
                    f"command exited with code {result.returncode} (fail_on_exit_code: not retried). "
                    f"Last output lines:\n{last_lines}"
                )
            if result.returncode != 0:
                raise AirflowException(
                    f"PlatformPodOperator {self.task_id!r}: command exited with code {result.returncode}. "
                    f"Last output lines:\n{last_lines}"
                )
            if self.do_xcom_push and xcom_file.is_file() and xcom_file.stat().st_size:
                return json.loads(xcom_file.read_text())
        return None

    def cleanup(
        self,
        pod: Any,
        remote_pod: Any,
        xcom_result: dict | None = None,
        context: Context | None = None,
    ) -> None:
        """The provider's cleanup; a failure with an exit code of ``fail_on_exit_code`` is not retried."""
        try:
            super().cleanup(pod, remote_pod, xcom_result, context)
        except AirflowSkipException:
            raise
        except AirflowException as err:
            exit_code = _base_container_exit_code(remote_pod, self.base_container_name)
            if exit_code is not None and exit_code in self.fail_on_exit_code:
                raise self._fail(
                    f"pod exited with code {exit_code} (fail_on_exit_code: not retried). {err}"
                ) from err
            raise

    def on_kill(self) -> None:
        process = self._local_process
        if process is not None:
            self.log.info("Task killed: terminating the local process group %s", process.pid)
            process.kill()
            return
        super().on_kill()

    # -- lineage --------------------------------------------------------------------------------

    def get_openlineage_facets_on_start(self):
        """The declared inputs and outputs (resolved on the current target)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from data_platform.pod.lineage import to_datasets
        from data_platform.settings import get_settings

        settings = get_settings()
        return OperatorLineage(
            inputs=to_datasets(self.inputs, settings), outputs=to_datasets(self.outputs, settings)
        )

    def get_openlineage_facets_on_complete(self, task_instance):
        return self.get_openlineage_facets_on_start()


def _with_missing(env_vars: list[Any], values: Mapping[str, str]) -> list[Any]:
    """``env_vars`` plus ``values`` as ``V1EnvVar``s, for the names it does not set yet (a
    task's own value wins, as for Spark conf's injected layers)."""
    from kubernetes.client import models as k8s

    names = {var.name for var in env_vars}
    return [*env_vars, *(k8s.V1EnvVar(name=n, value=v) for n, v in values.items() if n not in names)]


def _base_container_exit_code(remote_pod: Any, container_name: str) -> int | None:
    """Exit code of the pod's ``container_name`` once it terminated (as the provider reads it)."""
    status = getattr(remote_pod, "status", None)
    for container in (status.container_statuses if status else None) or []:
        if container.name == container_name and container.state and container.state.terminated:
            return int(container.state.terminated.exit_code)
    return None
