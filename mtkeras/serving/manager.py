"""Which versions of which models are loaded: TF Serving's ServerCore, in small.

Each model's base path is polled for integer version folders. Versions its
version policy wants are loaded (and warmed up) before they are published, and
versions it no longer wants are unpublished only after that, so requests for
"the latest version" never fail during an update. A request that already holds
a version finishes on it; the version is freed once the last one is done.
"""

import logging
import os
import threading

import grpc
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from mtkeras import names

from mtkeras.serving.errors import RequestError
from mtkeras.export.bundle import SAVED_MODEL_FILE, find_versions
from mtkeras.serving.servable import Servable

logger = logging.getLogger(__name__)

State = get_model_status_pb2.ModelVersionStatus.State


def latest_version(model_base_path):
    """The highest integer version under `model_base_path`; raises if there is none."""
    versions = find_versions(model_base_path)
    if not versions:
        raise FileNotFoundError(
            f"No servable version found under model base path {model_base_path}: expected a "
            f"subdirectory named by an integer version, e.g. {os.path.join(model_base_path, '1')}"
        )
    return versions[-1]


class _Model:
    """One configured model: its loaded versions and every version's state."""

    def __init__(self, config):
        self.config = config
        self.labels = dict(config.version_labels)
        self.servables = {}  # version -> Servable; replaced, never mutated
        self.states = {}  # version -> (State, error message)
        self.failed = set()


class ModelManager:
    """Loads, swaps and unloads model versions; resolves requests to one of them.

    Args:
        models: list of `ModelConfig`.
        limits: `ServingLimits`.
        batching: `BatchingOptions` or None.
    """

    def __init__(self, models, limits, batching=None):
        self._models = {config.name: _Model(config) for config in models}
        self._limits = limits
        self._batching = batching
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    @property
    def model_names(self):
        return sorted(self._models)

    def served_models(self):
        """`["name (versions 1, 2)", ...]`: the models with a version loaded, for NOT_FOUND answers."""
        with self._lock:
            return [
                f"{name} (version{'s' if len(model.servables) > 1 else ''} {', '.join(map(str, sorted(model.servables)))})"
                for name, model in sorted(self._models.items())
                if model.servables
            ]

    def loaded_versions(self, model_name):
        return sorted(self._models[model_name].servables)

    def servables(self):
        """Every loaded `Servable`, by model name and version."""
        with self._lock:
            return [s for _, model in sorted(self._models.items()) for _, s in sorted(model.servables.items())]

    # === Polling ===

    def poll(self):
        """Brings every model to the versions its policy wants; returns what changed."""
        changes = []
        with self._poll_lock:
            for model in self._models.values():
                changes.extend(self._poll_model(model))
        return changes

    def _poll_model(self, model):
        config = model.config
        try:
            available = find_versions(config.base_path)
        except FileNotFoundError as error:
            logger.warning("%s", error)
            return []
        # A version folder without saved_model.pb is still being copied (not
        # written by mtkeras, whose exports appear whole): look again next poll.
        complete = [v for v in available if os.path.isfile(os.path.join(config.base_path, str(v), SAVED_MODEL_FILE))]
        # A failed version whose folder went away may come back fixed: try it then.
        model.failed &= set(available)
        changes = []
        while True:
            # A version that fails to load is left out, and the policy picks
            # again: a broken new export leaves the previous version serving.
            wanted = config.version_policy.select([v for v in complete if v not in model.failed])
            loaded_all = True
            for version in wanted:
                if version in model.servables:
                    continue
                servable = self._load(model, version)
                if servable is None:
                    loaded_all = False
                    continue
                with self._lock:
                    model.servables = {**model.servables, version: servable}
                    model.states[version] = (State.AVAILABLE, "")
                changes.append(("loaded", config.name, version))
            if loaded_all:
                break
        for version in sorted(set(model.servables) - set(wanted)):
            with self._lock:
                servable = model.servables[version]
                model.servables = {v: s for v, s in model.servables.items() if v != version}
                model.states[version] = (State.END, "")
            servable.close()
            logger.info("unloaded %s version %d", config.name, version)
            changes.append(("unloaded", config.name, version))
        if not model.servables and not wanted:
            logger.warning("no servable version of %s under %s yet", config.name, config.base_path)
        return changes

    def _load(self, model, version):
        """A loaded and warmed-up `Servable`, or None (logged, state END) if it fails."""
        config = model.config
        self._set_state(model, version, State.LOADING)
        path = os.path.join(config.base_path, str(version))
        servable = None
        try:
            servable = Servable(config.name, version, path, self._limits, self._batching)
            warmed = servable.warm_up()
        except Exception as error:  # a broken version must not stop the others
            if servable is not None:
                servable.close()  # its batch threads
            logger.error("failed to load %s version %d from %s: %s", config.name, version, path, error)
            model.failed.add(version)
            self._set_state(model, version, State.END, f"{type(error).__name__}: {error}")
            return None
        logger.info("loaded %s version %d (%d warmup requests)", config.name, version, warmed)
        return servable

    def _set_state(self, model, version, state, error=""):
        with self._lock:
            model.states[version] = (state, error)

    def start_polling(self, interval):
        """Polls every `interval` seconds in a background thread until `stop()`."""
        if interval <= 0 or self._thread is not None:
            return

        def loop():
            while not self._stop.wait(interval):
                try:
                    self.poll()
                except Exception:  # keep polling whatever one poll hit
                    logger.exception("polling model base paths failed")

        self._thread = threading.Thread(target=loop, name="mtkeras-version-poller", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            servables = [s for model in self._models.values() for s in model.servables.values()]
        for servable in servables:
            servable.close()

    # === Lookup (ServerCore::GetServableHandle) ===

    def resolve(self, model_spec):
        """The loaded `Servable` a request's `ModelSpec` names, with TF Serving's errors."""
        if not model_spec.name:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "ModelSpec has no name specified.")
        choice = model_spec.WhichOneof("version_choice")
        model = self._models.get(model_spec.name)
        if choice == "version_label":
            label = model_spec.version_label
            if model is None or label not in model.labels:
                raise RequestError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"Unrecognized servable version label: {label}"
                )
            version = model.labels[label]
        elif choice == "version":
            version = model_spec.version.value
        else:
            version = None
        if version is None:
            request = f"Latest({model_spec.name})"
        else:
            request = f"Specific({model_spec.name}, {version})"
        servables = model.servables if model is not None else {}
        if version is None and servables:
            return servables[max(servables)]
        if version is not None and version in servables:
            return servables[version]
        raise RequestError(
            grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request}", served_models=self.served_models()
        )

    def metadata(self, model_spec):
        """`GetModelMetadataResponse` with the signature defs of the version `model_spec` resolves to."""
        servable = self.resolve(model_spec)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        signature_def_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in servable.signature_defs.items():
            signature_def_map.signature_def[key].CopyFrom(signature)
        response.metadata[names.SIGNATURE_DEF_FIELD].Pack(signature_def_map)
        return response

    def status(self, model_spec):
        """`GetModelStatusResponse` for a `ModelSpec`, as TF Serving's ModelService answers."""
        model = self._models.get(model_spec.name)
        # Like TF Serving's ModelService, a version label is ignored here: only
        # an explicit version narrows the answer.
        version = model_spec.version.value if model_spec.WhichOneof("version_choice") == "version" else None
        with self._lock:
            states = dict(model.states) if model is not None else {}
        if version is not None:
            if version not in states:
                raise RequestError(
                    grpc.StatusCode.NOT_FOUND, f"Could not find version {version} of model {model_spec.name}",
                    served_models=self.served_models(),
                )
            states = {version: states[version]}
        elif not states:
            raise RequestError(
                grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {model_spec.name}",
                served_models=self.served_models(),
            )
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, (state, error) in sorted(states.items(), reverse=True):
            version_status = response.model_version_status.add()
            version_status.version = number
            version_status.state = state
            version_status.status.SetInParent()
            if error:
                version_status.status.error_code = grpc.StatusCode.UNKNOWN.value[0]
                version_status.status.error_message = error
        return response
