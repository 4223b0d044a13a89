"""Count words and write them as Parquet: ``wordcount --words a,b,a --output DIR``."""

import argparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tinyjob.words import parse_words


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    words = parse_words(args.words)
    spark = SparkSession.builder.getOrCreate()
    # Built in the JVM (no Python workers to start): one row per word, then counted.
    rows = spark.range(1).select(F.explode(F.array(*[F.lit(w) for w in words])).alias("word"))
    rows.groupBy("word").count().write.mode("overwrite").parquet(args.output)
    conf = spark.sparkContext.getConf()
    print(
        f"tinyjob marker={conf.get('spark.tinyjob.marker', '-')} "
        f"shuffle={conf.get('spark.sql.shuffle.partitions', '-')} rows={len(set(words))}"
    )
    spark.stop()


if __name__ == "__main__":
    main()
