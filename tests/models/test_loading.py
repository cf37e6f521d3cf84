"""`import mtkeras` loads nothing heavy; `mtkeras.load_model` reads a saved model in a fresh process."""

import subprocess
import sys


def test_import_mtkeras_is_light_and_load_model_registers_the_classes(trained_model, tmp_path):
    path = str(tmp_path / "m.keras")
    trained_model.save(path)
    code = (
        "import sys, mtkeras\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'import mtkeras loaded TensorFlow'\n"
        f"model = mtkeras.load_model({path!r})\n"
        "print(type(model).__name__, [t.name for t in model.tasks])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "MultiTaskModel ['intent', 'slots', 'sentiment']"
