"""tfxdr: adversarial cross-domain and multi-domain recommendation in Keras 3."""

from setuptools import find_packages, setup

setup(
    name="tfxdr",
    version="0.1.0",
    description=(
        "TensorFlow/Keras model zoo for adversarial cross-domain and multi-domain recommendation"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    # The deployment side (serving/, pipelines/) installs as packages of their own;
    # tfxdr never imports them.
    packages=find_packages(include=["tfxdr", "tfxdr.*"]) + ["tfxdr_serving", "tfxdr_pipelines"],
    package_dir={"tfxdr_serving": "serving", "tfxdr_pipelines": "pipelines"},
    package_data={"tfxdr_pipelines": ["examples/*.toml"]},
    install_requires=[
        # The full `tensorflow` wheel: tensorflow-serving-api depends on it, and a
        # `tensorflow-cpu` beside it would overlay the same files.
        "tensorflow==2.21.*",
        "keras>=3.12,<4",
        "keras-rs>=0.4",
        "keras-hub>=0.32",
        # 2.19 and 2.21 carry the same protos and stubs; tfx-bsl (the pipelines extra)
        # needs < 2.20.
        "tensorflow-serving-api>=2.19,<2.22",
        "pandas>=2.2",
        "pyarrow>=15",
        "numpy>=1.26",
        # `tfxdr tune`: the study, its sampler and pruner, stored in SQLite.
        "optuna>=5.1,<6",
    ],
    extras_require={
        "test": ["pytest>=8", "matplotlib>=3.8", "faiss-cpu>=1.15"],
        "ann": ["faiss-cpu>=1.15"],
        "plots": ["matplotlib>=3.8"],
        # TFX-style pipelines (pipelines/): Beam, tf.Transform and the schema protos.
        "pipelines": ["apache-beam>=2.77,<3", "tensorflow-transform==1.21.*",
                      "tfx-bsl==1.21.*", "tensorflow-metadata==1.21.*"],
    },
    entry_points={"console_scripts": ["tfxdr=tfxdr.cli:main",
                                      "tfxdr-serving=tfxdr_serving.cli:main",
                                      "tfxdr-model-server=tfxdr_serving.server:main",
                                      "tfxdr-pipeline=tfxdr_pipelines.cli:main"]},
)
