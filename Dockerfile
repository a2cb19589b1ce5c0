# One image for every catalog-ml service in docker-compose.yaml: the Airflow servers (whose
# tasks are the Spark drivers), the Spark master and workers (executors), and the REST API.
# Built from requirements.lock, so the cluster runs exactly the versions the tests ran.
FROM python:3.11-slim-bookworm

ARG CATALOG_ML_UID=50000
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    AIRFLOW_HOME=/opt/airflow \
    CATALOG_ML_HOME=/opt/catalog-ml

RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps tini curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/catalog-ml
COPY requirements.lock pyproject.toml README.md ./
RUN python -m pip install --upgrade pip \
    && python -m pip install -r requirements.lock
COPY src/ src/
COPY dags/ dags/
COPY jobs/ jobs/
COPY schemas/ schemas/
RUN python -m pip install --no-deps --no-build-isolation -e . && python -m pip check

# Spark's scripts come from the pyspark wheel; workers run this image's Python.
ENV SPARK_HOME=/usr/local/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/usr/local/bin/python \
    PATH="/usr/local/lib/python3.11/site-packages/pyspark/bin:${PATH}"

RUN useradd --uid ${CATALOG_ML_UID} --create-home --home-dir /home/catalog-ml catalog-ml \
    && mkdir -p ${AIRFLOW_HOME} /opt/spark-work \
    && chown -R catalog-ml ${AIRFLOW_HOME} /opt/spark-work
USER catalog-ml
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["catalog-ml", "--help"]
