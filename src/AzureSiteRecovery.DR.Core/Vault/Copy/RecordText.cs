using System;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AzureSiteRecovery.DR.Core.Vault.Copy
{
    /// <summary>
    /// A record as comparable text: its settable properties as JSON, times to the millisecond (what
    /// every vault keeps), without Created and Modified (the vault stamps those on what it adds) and
    /// without computed properties (CurrentRpo and Health move with the clock).
    /// </summary>
    internal static class RecordText
    {
        private static readonly JsonSerializerOptions Options = new JsonSerializerOptions
        {
            IgnoreReadOnlyProperties = true,
            Converters = { new JsonStringEnumConverter(), new MillisecondTimes() },
        };

        public static string Of<T>(T? record) where T : class
        {
            if (record is null) return "null";
            using var document = JsonDocument.Parse(JsonSerializer.Serialize(record, record.GetType(), Options));
            var root = document.RootElement;
            using var buffer = new System.IO.MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                foreach (var property in root.EnumerateObject())
                {
                    if (property.NameEquals("Created") || property.NameEquals("Modified")) continue;
                    property.WriteTo(writer);
                }
                writer.WriteEndObject();
            }
            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }

        private sealed class MillisecondTimes : JsonConverter<DateTimeOffset>
        {
            public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64());

            public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
                writer.WriteNumberValue(value.ToUnixTimeMilliseconds());
        }
    }
}
