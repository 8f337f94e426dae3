"""Package metadata comes from settings.ini (nbdev's single source of truth); this file only reads it."""
from configparser import ConfigParser

import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
c = cfg["DEFAULT"]

statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable"]
licenses = {"apache2": ("Apache Software License 2.0", "OSI Approved :: Apache Software License")}
lic = licenses[c["license"]]

setuptools.setup(
    name=c["lib_name"],
    version=c["version"],
    description=c["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    author=c["author"],
    author_email=c["author_email"],
    url=c["git_url"],
    license=lic[0],
    keywords=c["keywords"].split(),
    classifiers=[
        f"Development Status :: {statuses[int(c['status']) - 1]}",
        f"Intended Audience :: {c['audience']}",
        f"License :: {lic[1]}",
        f"Natural Language :: {c['language']}",
        "Programming Language :: Python :: 3",
    ],
    python_requires=f">={c['min_python']}",
    packages=setuptools.find_namespace_packages(include=[c["lib_path"], f"{c['lib_path']}.*"]),  # data folders too
    package_data={c["lib_path"]: ["sample_data/**/*", "refine_data/*"]},
    include_package_data=True,
    install_requires=c.get("requirements", "").split(),
    extras_require={"dev": c.get("dev_requirements", "").split()},
    entry_points={
        "console_scripts": c.get("console_scripts", "").split(),
        "nbdev": [f"{c['lib_path']}={c['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
